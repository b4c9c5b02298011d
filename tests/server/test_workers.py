"""``workers``: several server processes on one port and one database (pyketi/workers.py).

What a user sees: one address answering, concurrent creates that never overbook a
device (``/db/check``), one ``/admin`` state for every worker, SIGTERM stopping all of
them, killing the server (the supervisor) killing every worker, a crashed worker
replaced."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serverhttp import call, seed, wait

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(check, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def create(base: str) -> int:
    status, headers, body = call(base, "POST", "/volumes",
                                 {"size": 1, "durability": {"type": "replicate",
                                                            "replicate": {"replica": 3}}})
    if status != 202:
        return status
    return wait(base, headers["Location"])[0]


def test_workers_share_one_port_and_never_overbook(server_factory, db_url):
    server = server_factory(config={"workers": 2, "database_url": db_url})
    workers = children(server.proc.pid)
    assert len(workers) == 2
    seed(server.url)
    # every request on a new connection: the two workers take turns
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _i: create(server.url), range(24)))
    assert results == [303] * 24
    status, _, body = call(server.url, "GET", "/db/check")
    assert status == 200 and json.loads(body)["totalinconsistencies"] == 0
    status, _, body = call(server.url, "GET", "/volumes")
    assert len(json.loads(body)["volumes"]) == 25
    log = server.log_path.read_text()
    assert all(f"(pid {pid}) serving" in log for pid in workers)

    os.kill(server.proc.pid, signal.SIGTERM)
    assert server.proc.wait(30) == 0
    assert not any(alive(pid) for pid in workers)


def test_the_admin_state_holds_for_every_worker(server_factory):
    server = server_factory(config={"workers": 2})
    seed(server.url)
    assert call(server.url, "POST", "/admin", {"state": "read-only"})[0] == 204
    # new connection each time: both workers answer some of these
    for _ in range(12):
        assert call(server.url, "POST", "/volumes", {"size": 1})[0] == 503
        status, _, body = call(server.url, "GET", "/admin")
        assert json.loads(body) == {"state": "read-only"}
    os.kill(server.proc.pid, signal.SIGUSR2)  # heketi: SIGUSR2 sets the state back to normal
    assert wait_until(lambda: json.loads(call(server.url, "GET", "/admin")[2])
                      == {"state": "normal"})
    for _ in range(4):
        assert json.loads(call(server.url, "GET", "/admin")[2]) == {"state": "normal"}


def test_killing_the_server_kills_its_workers(server_factory):
    server = server_factory(config={"workers": 2})
    workers = children(server.proc.pid)
    assert len(workers) == 2
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    assert wait_until(lambda: not any(alive(pid) for pid in workers), 10)


def test_a_crashed_worker_is_replaced(server_factory):
    server = server_factory(config={"workers": 2})
    seed(server.url)
    first, second = children(server.proc.pid)
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: len(children(server.proc.pid)) == 2
                      and first not in children(server.proc.pid))
    replacement = next(p for p in children(server.proc.pid) if p != second)
    assert wait_until(lambda: f"(pid {replacement}) serving" in server.log_path.read_text())
    for _ in range(6):
        assert create(server.url) == 303
    assert "worker 0 (pid %d) stopped (signal 9)" % first in server.log_path.read_text() \
        or "worker 1 (pid %d) stopped (signal 9)" % first in server.log_path.read_text()


def test_a_worker_that_cannot_start_stops_the_server(server_factory, tmp_path):
    # a database URL that cannot be opened: found by the supervisor before any worker
    with pytest.raises(RuntimeError, match="exited with 1"):
        server_factory(config={"workers": 2,
                               "database_url": f"sqlite:///{tmp_path}/missing/dir/x.db"})


def test_workers_out_of_range_are_refused(server_factory):
    with pytest.raises(RuntimeError, match="workers must be 1 to 64"):
        server_factory(config={"workers": 0})
    with pytest.raises(RuntimeError, match="--workers must be 1 to 64"):
        server_factory(args=["--workers", "65"])
