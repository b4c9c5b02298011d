"""A real pyketi server in a subprocess, for end-to-end tests.

``python -m pyketi serve --config FILE`` on a free 127.0.0.1 port with a
temporary SQLite database; readiness = ``GET /hello`` answers (bounded wait);
stopped by its PID.  Shared by tests/cli and tests/client, whose conftests
import the fixtures at the end of this module.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ADMIN_SECRET = "adminsecret"
USER_SECRET = "usersecret"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for child Pythons: the repository on PYTHONPATH, no CLI
    settings inherited from the developer's shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HEKETI_", "PYKETI_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


class ServerProcess:
    def __init__(self, workdir: Path, glusterfs: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None, config: dict[str, Any] | None = None,
                 args: list[str] | None = None) -> None:
        """``config``: more top-level keys of the config file; ``args``: more
        ``serve`` arguments."""
        self.workdir = workdir
        self.port = free_port()
        self.tls = bool((config or {}).get("enable_tls"))
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.config_path = workdir / "pyketi.json"
        settings: dict[str, Any] = {
            "executor": "mock",
            "max_inflight_operations": 8,
            "disable_background_cleaner": True,
            "disable_monitor_gluster_nodes": True,
        }
        settings.update(glusterfs or {})
        config = {
            "port": str(self.port),
            "jwt": {"admin": {"key": ADMIN_SECRET}, "user": {"key": USER_SECRET}},
            "glusterfs": settings,
            "database_url": f"sqlite:///{workdir / 'pyketi.db'}",
            **(config or {}),
        }
        self.config_path.write_text(json.dumps(config, indent=2))
        self._env = env or {}
        self._args = list(args or [])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pyketi", "serve", "--config", str(self.config_path),
                 *self._args],
                cwd=self.workdir, env=python_env(self._env), stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pyketi server exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/hello", timeout=1,
                                            context=self._probe_context()) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pyketi server did not answer /hello within "
                           f"{START_TIMEOUT:.0f}s:\n" + self.log_tail())

    def _probe_context(self) -> ssl.SSLContext | None:
        """The readiness probe does not check the test's certificate (the tests do)."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


class HeketiRoutesOnly:
    """A proxy in front of a pyketi server that answers pyketi's own routes
    (``paths``) as heketi does, ``404 Invalid path or request``, and forwards
    every other request: a stand-in for a heketi server (or an older pyketi)
    for clients that must fall back.  ``seen`` lists the requested paths."""

    def __init__(self, upstream: str, paths: tuple[str, ...] = ("/topology",)) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        proxy = self
        self.seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def forward(self) -> None:
                proxy.seen.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?", 1)[0] in paths:
                    self.reply(404, {"Content-Type": "text/plain; charset=utf-8"},
                               b"Invalid path or request\n")
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body or None,
                                 headers={k: v for k, v in self.headers.items()
                                          if k.lower() not in ("host", "connection")})
                    resp = conn.getresponse()
                    self.reply(resp.status, dict(resp.getheaders()), resp.read())
                finally:
                    conn.close()

            def reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "date", "server",
                                            "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = forward

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def heketi_like(server: ServerProcess) -> Iterator[HeketiRoutesOnly]:
    """``server`` behind a proxy that has only heketi's routes (no ``/topology``)."""
    proxy = HeketiRoutesOnly(server.url)
    yield proxy
    proxy.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``server_factory(glusterfs={...}, env={...})`` starts a server; all
    are stopped at teardown."""
    started: list[ServerProcess] = []

    def start(glusterfs: dict[str, Any] | None = None,
              env: dict[str, str] | None = None, config: dict[str, Any] | None = None,
              args: list[str] | None = None) -> ServerProcess:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        server = ServerProcess(workdir, glusterfs, env, config, args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with the mock executor and default settings."""
    return server_factory()
