"""Listener settings: validation of the new keys, the connection limit fitted to the file
descriptor limit, asyncio's per-accept EMFILE tracebacks folded into one overload line."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import resource

import pytest

from pyketi.api import listener
from pyketi.config import ConfigError, load_config

KEYS = {"HEKETI_ADMIN_KEY": "a" * 32, "HEKETI_USER_KEY": "u" * 32}


def config(tmp_path, **keys):
    path = tmp_path / "heketi.json"
    path.write_text(json.dumps({"port": "8080", **keys}))
    return load_config(str(path), env=KEYS)


def test_defaults_and_values_from_heketi_json(tmp_path):
    cfg = config(tmp_path)
    assert (cfg.max_connections, cfg.header_timeout_seconds, cfg.keepalive_timeout_seconds,
            cfg.metrics_require_admin, cfg.enable_tls) == (1024, 10.0, 75.0, False, False)
    cfg = config(tmp_path, max_connections=50, header_timeout_seconds=2.5,
                 keepalive_timeout_seconds=30)
    assert (cfg.max_connections, cfg.header_timeout_seconds,
            cfg.keepalive_timeout_seconds) == (50, 2.5, 30)


@pytest.mark.parametrize("keys,message", [
    ({"max_connections": 0}, "max_connections"),
    ({"max_connections": "many"}, "max_connections"),
    ({"header_timeout_seconds": 0}, "header_timeout_seconds"),
    ({"keepalive_timeout_seconds": -1}, "keepalive_timeout_seconds"),
    ({"enable_tls": True, "cert_file": "/c.pem"}, "key_file"),
])
def test_bad_values_refused(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, **keys)


def test_connection_limit_fits_the_descriptor_limit():
    assert listener.connection_limit(1024, 20000) == 1024
    assert listener.connection_limit(1024, 1024) == 1024 - listener.FD_RESERVE
    assert listener.connection_limit(1024, 100) == 1
    assert listener.connection_limit(5000, resource.RLIM_INFINITY) == 5000


def test_raise_fd_limit_reaches_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and hard > 64:
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        assert listener.raise_fd_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_emfile_accept_errors_become_one_overload_line(caplog):
    loop = asyncio.new_event_loop()
    seen = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context["message"]))
    try:
        guard = listener.ConnectionGuard(10, 1.0)
        listener.quiet_accept_errors(guard, loop)
        with caplog.at_level(logging.WARNING, logger="pyketi.listener"):
            for _ in range(1000):
                loop.call_exception_handler({
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(errno.EMFILE, "Too many open files")})
            loop.call_exception_handler({"message": "something else"})
    finally:
        loop.close()
    lines = [r.getMessage() for r in caplog.records if "overload:" in r.getMessage()]
    assert len(lines) == 1 and "out of file descriptors" in lines[0]
    assert seen == ["something else"]  # other loop errors still reach the previous handler
