"""A pyketi server process for the crash tests (SIGKILL, restart on the same database)
on the mock executor with a node-state file, and what those tests share."""

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One pyketi process; ``kill()`` is SIGKILL (no cleanup, like a crash)."""

    def __init__(self, workdir: Path, glusterfs: dict, env: dict | None = None,
                 database_url: str | None = None):
        self.workdir = workdir
        self.port = free_port()
        config = {"port": str(self.port), "bind": "127.0.0.1",
                  "jwt": {"admin": {"key": ADMIN}, "user": {"key": USER}},
                  "database_url": database_url or f"sqlite:///{workdir / 'pyketi.db'}",
                  "glusterfs": {"start_time_background_cleaner": 0,
                                "operation_lease_seconds": 15, **glusterfs}}
        self.config = workdir / f"config-{self.port}.json"
        self.config.write_text(json.dumps(config))
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("HEKETI_", "PYKETI_"))}, **(env or {})}
        log = open(workdir / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "pyketi", "serve", "--config",
                                      str(self.config)], cwd=workdir, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        try:
            self._wait_ready()
        except BaseException:  # never leave a server that did not come up running
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60  # a loaded 2-core machine
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

    def wait_exit(self, timeout: float) -> int | None:
        """The process's exit code once it ended (e.g. -9: killed itself), or None."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

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

    def start(glusterfs: dict, env: dict | None = None) -> Server:
        server = Server(tmp_path, glusterfs, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def mock_glusterfs(state: Path, rules: list | None = None, strict: bool = False) -> dict:
    section = {"mockexec": {"state_file": str(state), "strict": strict}}
    if rules is None:
        return {"executor": "mock", **section}
    return {"executor": "fault", "injectexec": {"base": "mock", "rules": rules}, **section}


def topology(server: Server, nodes: int = 3) -> list[str]:
    """One cluster, ``nodes`` nodes n<i>.lab with one device each; returns the device ids."""
    status, _, body = server.request("POST", "/clusters", {"file": True})
    cid = json.loads(body)["id"]
    devices = []
    for i in range(1, nodes + 1):
        node = {"zone": 1, "cluster": cid, "hostnames": {"manage": [f"n{i}.lab"],
                                                         "storage": [f"10.99.1.{i}"]}}
        _, h, _ = server.done(server.request("POST", "/nodes", node))
        nid = h["Location"].rsplit("/", 1)[1]
        server.done(server.request("POST", "/devices", {"node": nid, "name": "/dev/vdb"}))
        devices.append(json.loads(server.request("GET", f"/nodes/{nid}")[2])["devices"][0]["id"])
    return devices


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def node_state(state_file: Path) -> dict:
    return MockExecutor.load_state(state_file)["hosts"]
