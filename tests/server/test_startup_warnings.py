"""What ``pyketi serve`` says once at start: auth off (naming the bind address), the
ignored ``use_auth`` key, short JWT keys (never the key itself)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from server_process import ADMIN_SECRET, USER_SECRET

from pyketi.config import load_config, startup_warnings

KEYS = {"HEKETI_ADMIN_KEY": "a" * 32, "HEKETI_USER_KEY": "u" * 32}


def test_disable_auth_warns_loudly_naming_the_bind_address(server_factory):
    server = server_factory(args=["--disable-auth"])
    with urllib.request.urlopen(server.url + "/db/dump", timeout=10) as reply:
        assert reply.status == 200  # open, as heketi with --disable-auth
    log = server.log_path.read_text()
    lines = [line for line in log.splitlines() if "AUTHENTICATION IS DISABLED" in line]
    assert len(lines) == 1, log
    assert "WARNING" in lines[0] and f"0.0.0.0:{server.port}" in lines[0]
    assert "reachable from the network" in lines[0] and "/db/dump" in lines[0]


def test_loopback_bind_is_named_too():
    cfg = load_config(None, disable_auth=True, env={})
    (warning,) = startup_warnings(cfg)
    assert "127.0.0.1:8080" in warning and "only from this host" in warning


def test_use_auth_false_is_ignored_as_heketi_does(tmp_path):
    path = tmp_path / "heketi.json"
    path.write_text(json.dumps({"port": "8080", "use_auth": False}))
    cfg = load_config(str(path), env=KEYS)
    assert cfg.auth is True
    assert any("use_auth: false is ignored" in w for w in startup_warnings(cfg))
    assert startup_warnings(load_config(str(path), env={}, disable_auth=True))[0].startswith(
        "AUTHENTICATION IS DISABLED")


def test_no_warning_for_a_sane_config():
    assert startup_warnings(load_config(None, env=KEYS)) == []


def test_short_jwt_keys_warned_once_at_start_never_printed(server_factory):
    assert len(ADMIN_SECRET) < 32 and len(USER_SECRET) < 32
    server = server_factory()
    for _ in range(3):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/clusters", timeout=10)
        assert refused.value.code == 401
    log = server.log_path.read_text()
    assert log.count("jwt.admin.key is shorter than 32 bytes") == 1, log
    assert log.count("jwt.user.key is shorter than 32 bytes") == 1, log
    assert ADMIN_SECRET not in log and USER_SECRET not in log


def test_use_auth_false_and_keys_without_effect_are_said_once_by_the_real_server(server_factory):
    server = server_factory(config={"use_auth": False, "profiling": True},
                            glusterfs={"auto_create_block_hosting_volume": True})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.url + "/clusters", timeout=10)
    assert refused.value.code == 401  # use_auth: false did not turn authentication off
    log = server.log_path.read_text()
    assert log.count("use_auth: false is ignored") == 1, log
    (line,) = [ln for ln in log.splitlines() if "have no effect in pyketi" in ln]
    assert "WARNING" in line and "profiling (no Go profiler)" in line
    assert "glusterfs.auto_create_block_hosting_volume (no block volumes)" in line
    assert "Traceback" not in log
