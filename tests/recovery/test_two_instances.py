"""Two pyketi server processes on one database (PostgreSQL, and SQLite on one host),
driving the same (mock) nodes: work spread over both never double-books a device nor
runs an operation twice, and when one is killed (SIGKILL) in the middle of an
operation, the other finishes or undoes it - even when its background cleaner had
gone to sleep for ``refresh_time_background_cleaner`` before the kill (the bug seen
on the VM lab: the killed server's create still pending 120 s later)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from crashserver import Server
from crashserver import node_state as _node_state
from crashserver import topology as _topology
from crashserver import wait_until as _wait_until

from pyketi.db.models import Instance, Operation
from pyketi.db.session import Database
from pyketi.operations.runner import host_identity

LEASE = 4  # seconds; the lab report used 10
CREATE = {"size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}}


def _glusterfs(state: Path, rules: list | None = None) -> dict:
    section = {"mockexec": {"state_file": str(state), "shared": True},
               "operation_lease_seconds": LEASE, "start_time_background_cleaner": 0}
    if rules is None:
        return {"executor": "mock", **section}
    return {"executor": "fault", "injectexec": {"base": "mock", "rules": rules}, **section}


@pytest.fixture
def two(tmp_path, db_url):
    started: list[Server] = []

    def start(rules: list | None = None) -> Server:
        server = Server(tmp_path, _glusterfs(tmp_path / "nodes.json", rules),
                        database_url=db_url)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _get(server: Server, path: str):
    status, _, body = server.request("GET", path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def _bricks_on_nodes(state: Path) -> dict[str, int]:
    """Brick count per node, as the (shared mock) nodes hold them."""
    return {h: len(rec["bricks"]) for h, rec in _node_state(state).items()}


def _check_db_matches_nodes(server: Server, state: Path, devices: list[str]) -> None:
    """Each device's used space is what its thin pools take on the node (nothing
    double-booked, nothing leaked) and the nodes hold exactly the database's bricks
    and volumes."""
    assert _get(server, "/db/check")["totalinconsistencies"] == 0
    nodes = _node_state(state)
    pools: dict[str, int] = {}
    for rec in nodes.values():
        for name, pool in rec["pools"].items():
            device = name.split("/", 1)[0].removeprefix("vg_")
            pools[device] = pools.get(device, 0) + pool["size_kib"] + pool["metadata_kib"]
    db_bricks = 0
    for device_id in devices:
        d = _get(server, f"/devices/{device_id}")
        assert d["storage"]["free"] + d["storage"]["used"] == d["storage"]["total"], d
        assert d["storage"]["used"] == pools.get(device_id, 0), (d, pools)
        db_bricks += len(d["bricks"])
    assert sum(len(rec["bricks"]) for rec in nodes.values()) == db_bricks
    node_volumes = {v["id"] for rec in nodes.values() for v in rec["volumes"].values()}
    assert node_volumes == set(_get(server, "/volumes")["volumes"])


def _started_operations(*servers: Server) -> list[str]:
    """Operation ids each server log says it started (or its cleaner took over)."""
    ids = []
    for server in servers:
        ids += re.findall(r"operation ([0-9a-f]{32}) \(\S+\) started", server.log())
    return ids


def test_work_spread_over_two_instances_is_booked_and_run_once(two, tmp_path):
    state = tmp_path / "nodes.json"
    a, b = two(), two()
    devices = _topology(a)
    results: dict[int, tuple] = {}

    def create(i: int) -> None:
        server = (a, b)[i % 2]
        results[i] = server.request("POST", "/volumes", CREATE)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    accepted = [r for r in results.values() if r[0] == 202]
    assert len(accepted) == 8, [r[:1] + r[2:] for r in results.values()]
    # every job is answered by the *other* instance too (the queue is in the database)
    volumes = []
    for i, reply in results.items():
        status, headers, _ = (b, a)[i % 2].done(reply)
        assert status == 303, (status, headers)
        volumes.append(headers["Location"].rsplit("/", 1)[1])
    _check_db_matches_nodes(b, state, devices)

    # deletes spread over both, half of them through the instance that did not create
    deletes = [(a, b)[i % 2].request("DELETE", f"/volumes/{v}") for i, v in enumerate(volumes)]
    for i, reply in enumerate(deletes):
        assert (b, a)[i % 2].done(reply)[0] == 204
    _check_db_matches_nodes(a, state, devices)
    assert _bricks_on_nodes(state) == {h: 0 for h in _bricks_on_nodes(state)}
    started = _started_operations(a, b)
    assert len(started) == len(set(started)) == 3 * 2 + 8 + 8  # node+device adds, 8+8


def test_kill_one_of_two_mid_create_the_other_rolls_it_back(two, tmp_path):
    state = tmp_path / "nodes.json"
    survivor = two()
    devices = _topology(survivor)
    # the survivor's cleaner has run (start_time_background_cleaner 0) and found nothing
    # foreign: on main it then slept for refresh_time_background_cleaner (3600 s)
    victim = two([{"call": "volume_create", "nth": 1, "action": "hang", "seconds": 600}])
    status, headers, _ = victim.request("POST", "/volumes", CREATE)
    assert status == 202
    queue = headers["Location"]
    _wait_until(lambda: sum(_bricks_on_nodes(state).values()) == 3,
                what="bricks created on the 3 nodes")
    pending = _get(survivor, "/operations/pending")["pendingoperations"]
    assert [op["type_name"] for op in pending] == ["create-volume"]
    victim.kill()

    _wait_until(lambda: _get(survivor, "/operations")["total"] == 0, timeout=6 * LEASE,
                what="the survivor to roll back the killed server's create")
    status, _, body = survivor.request("GET", queue)
    assert status == 500 and "rolled back" in body, (status, body)
    assert _bricks_on_nodes(state) == {h: 0 for h in _bricks_on_nodes(state)}
    _check_db_matches_nodes(survivor, state, devices)
    # the survivor still works: a create through it succeeds
    assert survivor.done(survivor.request("POST", "/volumes", CREATE))[0] == 303
    _check_db_matches_nodes(survivor, state, devices)


def _other_host(how: str) -> str:
    """The host identity of an instance that is not on this host (``host_identity``)."""
    if how == "other host name":
        return "elsewhere"
    # a container with the host's network (same host name, same boot), its own pids
    name, boot, _pidns = host_identity().split(" ")
    return f"{name} {boot} pidns:1"


def _dead_pid() -> int:
    """A pid that no process on this host has (a child that ended and was reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("how", ["other host name", "same host name, other pid namespace"])
def test_an_instance_on_another_host_keeps_its_operation_until_its_lease_ends(
        two, tmp_path, db_url, how):
    """No pid to look at: a live instance's operation (heartbeat renewed) is never taken
    over, however long it runs - even when its pid (a pid in its own namespace) is dead
    here; once the instance is killed, it is after the lease."""
    state = tmp_path / "nodes.json"
    survivor = two()
    devices = _topology(survivor)
    victim = two([{"call": "volume_create", "nth": 1, "action": "hang", "seconds": 600}])
    db = Database(db_url)
    try:
        owner = db.read_sync(lambda s: s.execute(select(Instance.id).where(
            Instance.pid == victim.proc.pid)).scalar_one())
        db.write_sync(lambda s: s.execute(update(Instance).where(Instance.id == owner).values(
            hostname=_other_host(how), pid=_dead_pid())))
        status, headers, _ = victim.request("POST", "/volumes", CREATE)
        assert status == 202
        queue = headers["Location"]
        _wait_until(lambda: sum(_bricks_on_nodes(state).values()) == 3,
                    what="bricks created on the 3 nodes")
        # three leases later, the survivor's cleaner (every 4 s) has left it alone
        time.sleep(3 * LEASE)
        owners = db.read_sync(lambda s: s.execute(select(Operation.owner)).scalars().all())
        assert owners == [owner]
        assert sum(_bricks_on_nodes(state).values()) == 3
        assert "taken over" not in survivor.log()
        victim.kill()
        killed = time.monotonic()
        _wait_until(lambda: _get(survivor, "/operations")["total"] == 0, timeout=6 * LEASE,
                    what="the survivor to roll back the killed server's create")
        # not before the lease of its last heartbeat (at most LEASE / 4 old) ran out
        assert time.monotonic() - killed >= LEASE * 3 / 4
    finally:
        db.dispose()
    status, _, body = survivor.request("GET", queue)
    assert status == 500 and "rolled back" in body, (status, body)
    _check_db_matches_nodes(survivor, state, devices)


def test_kill_one_of_two_mid_delete_the_other_finishes_it(two, tmp_path):
    state = tmp_path / "nodes.json"
    survivor = two()
    devices = _topology(survivor)
    status, headers, _ = survivor.done(survivor.request("POST", "/volumes", CREATE))
    volume = headers["Location"].rsplit("/", 1)[1]
    victim = two([{"call": "bricks_destroy", "nth": 1, "action": "hang", "seconds": 600}])
    status, headers, _ = victim.request("DELETE", f"/volumes/{volume}")
    assert status == 202
    _wait_until(lambda: not any(rec["volumes"] for rec in _node_state(state).values()),
                what="the gluster volume to be deleted")
    victim.kill()

    _wait_until(lambda: _get(survivor, "/operations")["total"] == 0, timeout=6 * LEASE,
                what="the survivor to finish the killed server's delete")
    assert survivor.request("GET", f"/volumes/{volume}")[0] == 404
    assert _bricks_on_nodes(state) == {h: 0 for h in _bricks_on_nodes(state)}
    _check_db_matches_nodes(survivor, state, devices)


async def test_an_instance_taken_for_dead_registers_again(make_api, db_url, caplog):
    """Another instance deleted our registration (we looked dead: a stall longer than the
    lease): the next heartbeat registers us again and says so."""
    import asyncio

    from sqlalchemy import delete
    api = await make_api(db_url, operation_lease_seconds=1)  # heartbeat every 0.25 s
    runner = api.rt.runner

    def registered(s) -> bool:
        return s.get(Instance, runner.instance_id) is not None
    await runner.db.write(lambda s: s.execute(
        delete(Instance).where(Instance.id == runner.instance_id)))
    for _ in range(40):
        if await runner.db.read(registered):
            break
        await asyncio.sleep(0.1)
    assert await runner.db.read(registered)
    assert f"this instance ({runner.instance_id}) was taken for dead" in caplog.text
