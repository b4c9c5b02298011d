"""The server's log: ``glusterfs.loglevel`` and ``POST /internal/logging`` change what it
writes, ``log_format: json`` writes a JSON object a line, SIGHUP reopens ``log_file`` and
re-reads the configuration instead of killing the process (a real ``pyketi serve``)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from server_process import ServerProcess, python_env

from pyketi.config import ConfigError, load_config
from pyketi.config_reload import Reloader


def call(server, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data,
                                     method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def wait_for(path: Path, text: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not written to {path} within {timeout}s:\n{content}")


def rewrite(server, **glusterfs_and_top) -> None:
    config = json.loads(server.config_path.read_text())
    for key, value in glusterfs_and_top.items():
        if key in ("log_format", "log_file", "port"):
            config[key] = value
        else:
            config["glusterfs"][key] = value
    server.config_path.write_text(json.dumps(config))


def hangup(server) -> None:
    os.kill(server.proc.pid, signal.SIGHUP)


def stop_and_read(server) -> str:
    server.stop()
    return server.log_path.read_text()


def test_loglevel_from_config_and_from_post_internal_logging(server_factory):
    server = server_factory(glusterfs={"loglevel": "error"}, args=["--disable-auth"])
    assert call(server, "/internal/logging") == {"loglevel": {"glusterfs": "error"}}
    assert call(server, "/internal/logging",
                {"loglevel": {"glusterfs": "debug"}}) == {"loglevel": {"glusterfs": "debug"}}
    hangup(server)  # written at debug, which the POST turned on
    wait_for(server.log_path, "DEBUG pyketi: SIGHUP: reopening the log")
    # SIGHUP re-read glusterfs.loglevel: back to error, so the info line was not written
    assert call(server, "/internal/logging") == {"loglevel": {"glusterfs": "error"}}
    log = stop_and_read(server)
    assert "SIGHUP: log reopened" not in log and "shutting down" not in log


def test_default_level_is_info(server_factory):
    server = server_factory(args=["--disable-auth"])
    assert call(server, "/internal/logging") == {"loglevel": {"glusterfs": "info"}}
    hangup(server)
    wait_for(server.log_path, "INFO pyketi: SIGHUP: log reopened, configuration re-read")
    assert "DEBUG" not in stop_and_read(server)


def test_json_log_format(server_factory):
    server = server_factory(config={"log_format": "json"}, args=["--disable-auth"])
    rewrite(server, zone_checking="strict")
    hangup(server)
    wait_for(server.log_path, "take effect after a restart")
    records = [json.loads(line) for line in stop_and_read(server).splitlines()
               if line.startswith("{")]
    messages = {r["message"]: r for r in records}
    restart = messages["SIGHUP: changed keys take effect after a restart: "
                       "glusterfs.zone_checking"]
    assert (restart["level"], restart["logger"]) == ("warning", "pyketi")
    assert restart["time"].endswith("Z") and "T" in restart["time"]
    assert any(m.startswith("AUTHENTICATION IS DISABLED") for m in messages)
    # every log line is JSON (stdout's two start-up lines are not log lines)
    others = [ln for ln in server.log_path.read_text().splitlines() if not ln.startswith("{")]
    assert [ln.split()[0] for ln in others] == ["Heketi-compatible", "Listening"], others


def test_sighup_reopens_the_log_file_after_rotation(server_factory, tmp_path):
    log_file = tmp_path / "pyketi.log"
    server = server_factory(config={"log_file": str(log_file)}, args=["--disable-auth"])
    wait_for(log_file, "AUTHENTICATION IS DISABLED")
    rotated = log_file.with_suffix(".log.1")
    log_file.rename(rotated)  # what logrotate does
    hangup(server)
    wait_for(log_file, "SIGHUP: log reopened")
    assert urllib.request.urlopen(server.url + "/hello", timeout=10).status == 200
    assert server.proc.poll() is None
    assert "SIGHUP" not in rotated.read_text()


def test_sighup_with_a_broken_file_keeps_the_running_configuration(server_factory):
    server = server_factory(glusterfs={"loglevel": "warning"}, args=["--disable-auth"])
    server.config_path.write_text("{not json")
    hangup(server)
    wait_for(server.log_path, "SIGHUP: configuration not re-read, the running one stays")
    assert server.proc.poll() is None
    assert call(server, "/internal/logging") == {"loglevel": {"glusterfs": "warning"}}


def test_reloader_names_changed_keys_by_their_heketi_json_name(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("HEKETI_", "PYKETI_")):
            monkeypatch.delenv(name)  # SIGHUP re-reads with the process environment
    path = tmp_path / "heketi.json"
    jwt = {"admin": {"key": "a" * 32}, "user": {"key": "u" * 32}}
    base = {"port": "8080", "jwt": jwt, "glusterfs": {"executor": "mock", "zone_checking": "none"}}
    path.write_text(json.dumps(base))
    reloader = Reloader(load_config(str(path), env={}))
    changed = {"port": "8081", "log_format": "json",
               "jwt": {**jwt, "admin": {"key": "b" * 32}},
               "glusterfs": {"executor": "mock", "zone_checking": "strict", "loglevel": "debug",
                             "sshexec": {"user": "root"}}}
    path.write_text(json.dumps(changed))
    new, restart = reloader.reread()
    assert (new.loglevel, new.log_format) == ("debug", "json")
    assert restart == ["glusterfs.sshexec", "glusterfs.zone_checking", "jwt.admin.key", "port"]
    path.write_text(json.dumps({**changed, "glusterfs": {"loglevel": "loud"}}))
    with pytest.raises(ConfigError, match="invalid log level"):
        reloader.reread()
    assert reloader.loaded.loglevel == "debug"  # the failed read changed nothing


def test_json_lines_carry_the_ids_a_line_was_given_and_the_exception():
    from pyketi.logging_setup import JsonFormatter

    logger = logging.getLogger("pyketi.test")
    record = logger.makeRecord("pyketi.test", logging.ERROR, __file__, 1, "volume %s failed",
                               ("vol_1",), None, extra={"operation_id": ""})
    record.request_id = "r1"  # as logcontext's record factory sets it (when installed)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "volume vol_1 failed" and line["level"] == "error"
    assert line["request_id"] == "r1" and "operation_id" not in line  # empty: left out
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord("pyketi.test", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]


def test_sighup_during_start_up_does_not_kill_the_server(tmp_path):
    """logrotate's postrotate may signal a server that is still starting."""
    server = ServerProcess(tmp_path, args=["--disable-auth"])
    with open(server.log_path, "wb") as log:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "pyketi", "serve", "--config", str(server.config_path),
             "--disable-auth"], env=python_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(server.log_path, "AUTHENTICATION IS DISABLED", timeout=30)
        hangup(server)  # the configuration is read, the server does not listen yet
        deadline = time.monotonic() + 30
        while True:
            assert server.proc.poll() is None, server.log_path.read_text()
            try:
                urllib.request.urlopen(server.url + "/hello", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        server.stop()
