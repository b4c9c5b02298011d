"""SIGTERM: the server stops accepting, lets running operations finish up to
``shutdown_timeout`` and names what it had to leave to the background cleaner."""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
import urllib.request

import pytest
from serverhttp import call, seed, sign, wait

def slow_volume_env(seconds: float, nth: int = 2) -> dict[str, str]:
    """The ``nth`` volume_create on the node hangs ``seconds`` (the seed makes the first)."""
    return {"PYKETI_FAULTS": json.dumps([{"call": "volume_create", "nth": nth,
                                          "action": "hang", "seconds": seconds}])}


def terminate(server) -> float:
    """SIGTERM by PID; returns how long the process took to exit."""
    started = time.monotonic()
    os.kill(server.proc.pid, signal.SIGTERM)
    server.proc.wait(60)
    return time.monotonic() - started


pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/hello", timeout=2)
    except OSError:
        return True
    return False


def test_sigterm_lets_a_running_operation_finish(server_factory):
    server = server_factory(env=slow_volume_env(2), config={"shutdown_timeout": 30})
    seed_ids = seed(server.url)
    status, headers, _ = call(server.url, "POST", "/volumes", {"size": 1})
    assert status == 202
    took = terminate(server)
    assert server.proc.returncode == 0 and took < 20
    assert refused(server.url)
    log = server.log_path.read_text()
    assert "shutdown: waiting up to 30 s for 1 running job(s)" in log
    assert "left to the background cleaner" not in log
    assert "INFO pyketi.access: 202 | " in log and " request_id=" in log
    assert "Bearer" not in log and "eyJ" not in log  # no token in the log
    # the operation ended (done) before the process did: nothing left pending
    restarted = server_factory(config={"database_url": f"sqlite:///{server.workdir}/pyketi.db"})
    status, _, body = call(restarted.url, "GET", "/operations/pending")
    assert json.loads(body) == {"pendingoperations": []}
    status, _, body = call(restarted.url, "GET", "/volumes")
    assert len(json.loads(body)["volumes"]) == 2, seed_ids


def test_sigterm_leaves_what_outlives_the_timeout_to_the_cleaner(server_factory):
    server = server_factory(config={"shutdown_timeout": 1})
    ids = seed(server.url)
    del ids
    server.stop()
    slow = server_factory(env=slow_volume_env(300, nth=1), config={
        "shutdown_timeout": 1, "database_url": f"sqlite:///{server.workdir}/pyketi.db"})
    status, headers, _ = call(slow.url, "POST", "/volumes", {"size": 1})
    assert status == 202
    time.sleep(0.5)  # the operation is now hanging in its volume_create step
    _, _, body = call(slow.url, "GET", "/operations/pending")
    [op] = json.loads(body)["pendingoperations"]
    took = terminate(slow)
    assert slow.proc.returncode == 0 and took < 10
    log = slow.log_path.read_text()
    assert (f"shutdown: operation {op['id']} (create-volume) still running after 1 s; "
            "left to the background cleaner") in log
    # the next start's cleaner rolls it back
    again = server_factory(glusterfs={"disable_background_cleaner": False}, config={
        "database_url": f"sqlite:///{server.workdir}/pyketi.db"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, _, body = call(again.url, "GET", "/operations/pending")
        if not json.loads(body)["pendingoperations"]:
            break
        time.sleep(0.5)
    assert json.loads(body) == {"pendingoperations": []}
    assert wait(again.url, headers["Location"])[0] == 500  # the job says it was rolled back


def test_changes_are_refused_while_draining(server_factory):
    """New connections are refused at once; a change sent on a connection that was
    already open gets 503 while the running device add finishes."""
    server = server_factory(env={"PYKETI_FAULTS": json.dumps([
        {"call": "device_setup", "nth": 1, "action": "hang", "seconds": 4}])},
        config={"shutdown_timeout": 30})
    status, _, body = call(server.url, "POST", "/clusters", {})
    cluster = json.loads(body)["id"]
    status, headers, _ = call(server.url, "POST", "/nodes", {
        "zone": 1, "cluster": cluster,
        "hostnames": {"manage": ["node1.example.com"], "storage": ["10.9.0.1"]}})
    node = wait(server.url, headers["Location"])[1]["Location"].rsplit("/", 1)[1]
    status, _, _ = call(server.url, "POST", "/devices", {"node": node, "name": "/dev/sdb"})
    assert status == 202
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/clusters", headers={"Authorization": "Bearer "
                                              + sign("GET", "/clusters")})
    assert conn.getresponse().read() and True
    os.kill(server.proc.pid, signal.SIGTERM)
    time.sleep(0.5)
    assert refused(server.url)
    try:
        conn.request("POST", "/clusters", body=b"{}", headers={
            "Authorization": "Bearer " + sign("POST", "/clusters")})
    except OSError:
        raise AssertionError(server.log_tail()) from None
    try:
        reply = conn.getresponse()
    except OSError:
        raise AssertionError(server.log_tail()) from None
    assert (reply.status, reply.read()) == (503, b"Server shutting down\n")
    conn.close()
    server.proc.wait(30)
    assert "shutdown: waiting up to 30 s for 1 running job(s)" in server.log_path.read_text()
