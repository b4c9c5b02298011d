"""A pyketi server (SQLite, ssh executor) inside the lab netns, for the lab tests."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "lab-admin-key-0123456789abcdef"


class NsClient:
    """pyketi.client.Client whose calls run in a thread inside the lab netns."""

    def __init__(self, lab, url: str):
        from pyketi.client.api import Client
        self._lab = lab
        self._client = Client(url, "admin", ADMIN_KEY, timeout=120)

    def send(self, method: str, path: str, body=None):
        """One request, not following a 202 (the job's ``Location`` is in the reply)."""
        return self._lab.run_in_netns(
            lambda: self._client.transport.send(method, path, body), timeout=600)

    def __getattr__(self, name):
        fn = getattr(self._client, name)

        def call(*a, **kw):
            return self._lab.run_in_netns(lambda: fn(*a, **kw), timeout=3600)
        return call


def timed(fn, *a, **kw):
    """(seconds, result, None) or (seconds, None, the error) of ``fn(*a, **kw)``."""
    t0 = time.monotonic()
    try:
        result = fn(*a, **kw)
    except Exception as e:  # noqa: BLE001 - returned to the test
        return time.monotonic() - t0, None, e
    return time.monotonic() - t0, result, None


def other_host_argv(hostname: str, argv: list[str]) -> list[str]:
    """``argv`` in new pid and UTS namespaces (host name ``hostname``), the network
    namespace kept.  ``--kill-child``: a SIGKILL of the process we started (unshare)
    kills the server too, as a kill -9 of a container does."""
    return ["unshare", "--pid", "--fork", "--uts", "--kill-child", "--",
            "sh", "-c", 'hostname -- "$1" && shift && exec "$@"', "sh", hostname, *argv]


def _terminate(proc: subprocess.Popen, in_own_pidns: bool) -> None:
    """SIGTERM to the server: unshare (the process we started) ignores it while it waits,
    so in its own pid namespace the server is unshare's child (read from /proc)."""
    if not in_own_pidns:
        proc.terminate()
        return
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signal.SIGTERM)


@contextlib.contextmanager
def lab_server(lab, d: Path, env: dict[str, str] | None = None, log_name: str = "server.log",
               other_host: str | None = None, **glusterfs: Any) -> Iterator[dict]:
    """Start ``python -m pyketi serve`` in the netns; ``glusterfs`` keys override the
    defaults, ``env`` is added to the environment (a second server on the same ``d``
    uses the same database; give it its own ``log_name``).
    ``other_host``: run it as another host would (a container is exactly that): in its
    own pid and UTS namespaces, with this host name, so another server sees neither
    its pid nor its host identity and has only its lease to go by.
    Yields ``{"client", "url", "dir", "proc", "log"}``; stopped by its PID."""
    port = random.randint(20000, 29999)  # any port: the netns is ours
    gfs = {
        "executor": "ssh",
        "db": str(d / "heketi.db"),
        "sshexec": lab.sshexec_config(),
        "operation_retry_limits": {"volume_create": 0},
        "brick_min_size_gb": 1,
        "disable_monitor_gluster_nodes": True,
        "disable_background_cleaner": True,
        "loglevel": "debug",
    }
    gfs.update(glusterfs)
    cfg = {"port": str(port),
           "jwt": {"admin": {"key": ADMIN_KEY}, "user": {"key": "lab-user-key-0123456789"}},
           "glusterfs": gfs}
    (d / "heketi.json").write_text(json.dumps(cfg, indent=2))
    log_path = d / log_name
    log = open(log_path, "w")
    argv = [sys.executable, "-m", "pyketi", "serve", "--config", str(d / "heketi.json")]
    if other_host is not None:
        argv = other_host_argv(other_host, argv)
    proc = subprocess.Popen(
        lab.ns_argv(argv),
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})})
    client = NsClient(lab, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: "
                                   f"{log_path.read_text()[-3000:]}")
            try:
                client.hello()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield {"client": client, "url": f"http://127.0.0.1:{port}", "dir": d, "proc": proc,
               "log": log_path}
    finally:
        if proc.poll() is None:
            _terminate(proc, other_host is not None)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
        print(f"pyketi server log: {log_path}")
