"""Crash recovery: SIGKILL the server in the middle of a multi-step operation,
restart it on the same database and node state, and show nothing is left
half-done — on the (mock) nodes, in the database, or in the async queue."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest

from pyketi.executors.doubles.mock import MockExecutor

REPO = Path(__file__).resolve().parents[2]
ADMIN = "crash-admin-key-0123456789abcdef"
USER = "crash-user-key-0123456789abcdef"
DEVICE_KIB = 500 * 1024 * 1024


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One pyketi process; ``kill()`` is SIGKILL (no cleanup, like a crash)."""

    def __init__(self, workdir: Path, glusterfs: dict, database_url: str | None = None):
        self.workdir = workdir
        self.port = _port()
        config = {"port": str(self.port), "bind": "127.0.0.1",
                  "jwt": {"admin": {"key": ADMIN}, "user": {"key": USER}},
                  "database_url": database_url or f"sqlite:///{workdir / 'pyketi.db'}",
                  "glusterfs": {"start_time_background_cleaner": 0,
                                "operation_lease_seconds": 15, **glusterfs}}
        self.config = workdir / f"config-{self.port}.json"
        self.config.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}
        log = open(workdir / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "pyketi", "serve", "--config",
                                      str(self.config)], cwd=workdir, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                self.request("GET", "/hello", auth=False)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("server did not start:\n" + self.log())

    def log(self) -> str:
        return (self.workdir / f"server-{self.port}.log").read_text(errors="replace")

    def request(self, method: str, path: str, body=None, auth: bool = True):
        headers = {}
        if auth:
            now = int(time.time())
            headers["Authorization"] = "Bearer " + jwt.encode(
                {"iss": "admin", "iat": now, "exp": now + 60,
                 "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()},
                ADMIN, algorithm="HS256")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method=method, headers=headers)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def done(self, status_headers_body, timeout: float = 30):
        status, headers, body = status_headers_body
        assert status == 202, (status, body)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, h, body = self.request("GET", headers["Location"])
            if status == 200 and h.get("X-Pending") == "true":
                time.sleep(0.02)
                continue
            return status, h, body
        raise AssertionError("operation still pending")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@pytest.fixture
def servers(tmp_path):
    started: list[Server] = []

    def start(glusterfs: dict) -> Server:
        server = Server(tmp_path, glusterfs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _mock(state: Path, rules: list | None = None) -> dict:
    section = {"mockexec": {"state_file": str(state)}}
    if rules is None:
        return {"executor": "mock", **section}
    return {"executor": "fault", "injectexec": {"base": "mock", "rules": rules}, **section}


def _topology(server: Server) -> list[str]:
    status, _, body = server.request("POST", "/clusters", {"file": True})
    cid = json.loads(body)["id"]
    devices = []
    for i in range(1, 4):
        node = {"zone": 1, "cluster": cid, "hostnames": {"manage": [f"n{i}.lab"],
                                                         "storage": [f"10.99.1.{i}"]}}
        _, h, _ = server.done(server.request("POST", "/nodes", node))
        nid = h["Location"].rsplit("/", 1)[1]
        server.done(server.request("POST", "/devices", {"node": nid, "name": "/dev/vdb"}))
        devices.append(json.loads(server.request("GET", f"/nodes/{nid}")[2])["devices"][0]["id"])
    return devices


def _wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _node_state(state_file: Path) -> dict:
    return MockExecutor.load_state(state_file)["hosts"]


def test_kill_during_volume_create_leaves_nothing_half_done(servers, tmp_path):
    state = tmp_path / "nodes.json"
    # volume_create (the gluster step, after all bricks exist) hangs: the crash point
    first = servers(_mock(state, [{"call": "volume_create", "nth": 1, "action": "hang",
                                   "seconds": 600}]))
    devices = _topology(first)
    status, headers, _ = first.request("POST", "/volumes", {
        "size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}})
    assert status == 202
    queue = headers["Location"]

    def bricks_on_all_nodes():
        hosts = _node_state(state) if state.exists() else {}
        return sum(len(h["bricks"]) for h in hosts.values()) == 3
    _wait_until(bricks_on_all_nodes, what="bricks created on the 3 nodes")
    status, _, body = first.request("GET", "/operations")
    assert json.loads(body)["total"] == 1
    first.kill()

    second = servers(_mock(state))
    # start-up is not blocked by the cleanup: the server answers at once
    assert second.request("GET", "/hello", auth=False)[0] == 200

    def cleaned():
        return json.loads(second.request("GET", "/operations")[2])["total"] == 0
    _wait_until(cleaned, what="the stale operation to be cleaned")

    # the job accepted by the dead process is answered, with the reason
    status, _, body = second.request("GET", queue)
    assert status == 500
    assert "interrupted" in body and "rolled back" in body
    assert second.request("GET", queue)[0] == 404

    # nothing half-created: no volume, space given back, nodes clean
    assert json.loads(second.request("GET", "/volumes")[2]) == {"volumes": []}
    for device_id in devices:
        storage = json.loads(second.request("GET", f"/devices/{device_id}")[2])["storage"]
        assert storage == {"total": DEVICE_KIB, "free": DEVICE_KIB, "used": 0}
    for host, node in _node_state(state).items():
        assert node["bricks"] == {} and node["pools"] == {} and node["volumes"] == {}, host
    check = json.loads(second.request("GET", "/db/check")[2])
    assert check["totalinconsistencies"] == 0

    # and the cluster is fully usable again
    status, _, body = second.done(second.request("POST", "/volumes", {
        "size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    assert status == 303


def test_kill_during_volume_delete_finishes_the_delete(servers, tmp_path):
    state = tmp_path / "nodes.json"
    first = servers(_mock(state, [{"call": "bricks_destroy", "nth": 1, "action": "hang",
                                   "seconds": 600}]))
    devices = _topology(first)
    _, h, _ = first.done(first.request("POST", "/volumes", {
        "size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    vid = h["Location"].rsplit("/", 1)[1]
    status, headers, _ = first.request("DELETE", f"/volumes/{vid}")
    assert status == 202

    def gluster_volume_gone():
        return all(not n["volumes"] for n in _node_state(state).values())
    _wait_until(gluster_volume_gone, what="gluster volume deleted")
    # the volume is already invisible while its delete runs
    assert first.request("GET", f"/volumes/{vid}")[0] == 404
    first.kill()

    second = servers(_mock(state))
    _wait_until(lambda: json.loads(second.request("GET", "/operations")[2])["total"] == 0,
                what="the delete to be completed by the cleaner")
    assert second.request("GET", f"/volumes/{vid}")[0] == 404
    for host, node in _node_state(state).items():
        assert node["bricks"] == {} and node["pools"] == {}, host
    for device_id in devices:
        storage = json.loads(second.request("GET", f"/devices/{device_id}")[2])["storage"]
        assert storage["free"] == DEVICE_KIB
    dump = json.loads(second.request("GET", "/db/dump")[2])
    assert dump["volumeentries"] == {} and dump["brickentries"] == {}
