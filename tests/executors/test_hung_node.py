"""One hung storage node must not block the service (issue 8, item 5).

Real sockets end to end: a pyketi app (in process) with the ssh executor talks
to real OpenSSH servers on 127.0.0.1-3 whose node commands are stubs
(``stub_node``).  Node 127.0.0.3 has its own sshd, so it can hang alone: first
a command that never ends (``mkfs.xfs`` sleeps), then the whole "machine"
paused (SIGSTOP of its sshd and sessions: TCP still accepted, nothing answers).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pyketi.executors.factory import make_executor
from sshd_server import Sshd
from stub_node import stub_node_or_skip

GOOD, HUNG = ("127.0.0.1", "127.0.0.2"), "127.0.0.3"
COOLDOWN = 3


@pytest.fixture
def nodes(tmp_path):
    stub = stub_node_or_skip(tmp_path / "node")
    (tmp_path / "good-sshd").mkdir()
    (tmp_path / "hung-sshd").mkdir()
    good = Sshd(tmp_path / "good-sshd", addresses=GOOD, extra_config=stub.sshd_config)
    hung = None
    try:
        hung = Sshd(tmp_path / "hung-sshd", addresses=(HUNG,), port=good.port, keys_from=good,
                    extra_config=stub.sshd_config)
        known = tmp_path / "known_hosts"
        known.write_text(good.known_hosts.read_text() + hung.known_hosts.read_text())
        yield stub, good, hung, known
    finally:
        if hung is not None:
            hung.stop()
        good.stop()


def _executor(stub, good, known):
    """The ssh executor on the stub nodes: 1 s connect, 2 s command timeout."""
    return make_executor({
        "executor": "ssh", "node_unreachable_seconds": COOLDOWN,
        "sshexec": {"keyfile": str(good.client_key), "user": "root", "port": str(good.port),
                    "known_hosts": str(known), "connect_timeout": 1, "command_timeout": 2,
                    "lvm_wrapper": stub.lvm_wrapper}}, env={})


async def _timed(coro) -> tuple[float, object]:
    t0 = time.monotonic()
    result = await coro
    return time.monotonic() - t0, result


async def _node(api, cluster: str, host: str) -> str:
    body = {"zone": 1, "cluster": cluster, "hostnames": {"manage": [host], "storage": [host]}}
    node = await api.done(await api.post("/nodes", body))
    await api.done(await api.post("/devices", {"node": node["id"], "name": "/dev/sdb"}))
    return node["id"]


def _volume(cluster: str, replica: int = 1) -> dict:
    if replica == 1:
        return {"size": 1, "clusters": [cluster], "durability": {"type": "none"}}
    return {"size": 1, "clusters": [cluster],
            "durability": {"type": "replicate", "replicate": {"replica": replica}}}


async def _job_error(api, reply) -> str:
    final = await api.wait(reply, timeout=60)
    assert final.status == 500, (final.status, final.text)
    return final.text


async def test_hung_node_fails_fast_and_the_rest_stays_usable(nodes, make_api, sqlite_url):
    stub, good, hung, known = nodes
    executor = _executor(stub, good, known)
    api = await make_api(sqlite_url, executor=executor, max_inflight_operations=2,
                         start_time_background_cleaner=1)
    cluster_a, cluster_b = await api.cluster(), await api.cluster()
    for host in GOOD:
        await _node(api, cluster_a, host)
    hung_node = await _node(api, cluster_b, HUNG)
    assert any(c[1] == "lvmwrap" and c[3] == "vgcreate" for c in stub.calls(HUNG))

    # 1. a command on the node never ends: the create waits one command timeout ...
    stub.hang(HUNG, "mkfs.xfs")
    t0 = time.monotonic()
    first = await api.post("/volumes", _volume(cluster_b))
    assert first.status == 202
    # ... meanwhile GETs answer at once and a volume on the other nodes is created
    for path in ("/clusters", f"/clusters/{cluster_b}", f"/nodes/{hung_node}", "/volumes",
                 "/operations"):
        took, reply = await _timed(api.get(path))
        assert reply.status == 200 and took < 0.5, (path, took)
    other = await api.done(await api.post("/volumes", _volume(cluster_a, replica=2)))
    assert other["cluster"] == cluster_a
    assert "SSH command timeout" in await _job_error(api, first)
    assert time.monotonic() - t0 < 8  # one timeout (2 s), no retry, no undo waiting

    # the undo on the hung node was not waited for: the operation waits for the cleaner
    pending = (await api.get("/operations/pending")).json()["pendingoperations"]
    assert [(p["type_name"], p["status"]) for p in pending] == [("create-volume", "failed")]
    assert not any(c[1] == "umount" for c in stub.calls(HUNG))

    # 2. further operations touching the node fail fast, naming it; no 429
    for _ in range(4):
        took, reply = await _timed(api.post("/volumes", _volume(cluster_b)))
        assert reply.status == 202, (reply.status, reply.text)
        took_job, error = await _timed(_job_error(api, reply))
        assert took + took_job < 2, took + took_job
        assert error.startswith(f"Node {HUNG} is unreachable: SSH command timeout"), error
    took, reply = await _timed(api.post("/devices", {"node": hung_node, "name": "/dev/sdc"}))
    error = await _job_error(api, reply)
    assert f"Node {HUNG} is unreachable" in error and took < 2
    assert api.rt.runner.inflight == 0
    # they failed before touching any node: nothing more left for the cleaner
    pending = (await api.get("/operations/pending")).json()["pendingoperations"]
    assert [(p["type_name"], p["status"]) for p in pending] == [("create-volume", "failed")]
    await api.done(await api.post("/volumes", _volume(cluster_a)))

    # 3. the machine is paused; the cleaner's retries must not block anyone
    hung.pause()
    stub.hang(HUNG, "mkfs.xfs", on=False)
    await asyncio.sleep(COOLDOWN + 1)  # cool-down over: somebody probes the paused node
    for _ in range(3):
        took, reply = await _timed(api.post("/volumes", _volume(cluster_b)))
        final = await api.wait(reply, timeout=60)
        assert final.status == 500 and HUNG in final.text, final.text
        took, listing = await _timed(api.get("/volumes"))
        assert listing.status == 200 and took < 0.5
    await api.done(await api.post("/volumes", _volume(cluster_a)))
    still = (await api.get("/operations/pending")).json()["pendingoperations"]
    assert still and all(p["status"] == "failed" for p in still)

    # 4. the node answers again: the cleaner undoes what was left, then it is usable
    hung.resume()
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if not (await api.get("/operations/pending")).json()["pendingoperations"]:
            break
        await asyncio.sleep(0.5)
    assert (await api.get("/operations/pending")).json()["pendingoperations"] == []
    undone = [c for c in stub.calls(HUNG) if c[1] == "lvmwrap" and c[3] == "lvremove"]
    assert undone, "the brick made before the hang was never removed"
    volumes = (await api.get("/volumes")).json()["volumes"]
    assert len(volumes) == 3  # cluster A's; nothing left of cluster B's failed creates
    created = await api.done(await api.post("/volumes", _volume(cluster_b)))
    assert created["cluster"] == cluster_b


async def test_node_dying_during_an_expand_fails_naming_it_and_is_undone(nodes, make_api,
                                                                          sqlite_url):
    """A replica-3 expand: node 3 hangs half-way through its new brick (``mkfs.xfs``)
    and its machine is then paused.  The expand fails after one command timeout with
    an error naming the node, the new bricks on the two other nodes are removed at
    once, and the brick left on node 3 is removed by the cleaner once it answers."""
    stub, good, hung, known = nodes
    executor = _executor(stub, good, known)
    api = await make_api(sqlite_url, executor=executor, start_time_background_cleaner=1)
    cluster = await api.cluster()
    for host in (*GOOD, HUNG):
        await _node(api, cluster, host)
    vol = await api.done(await api.post("/volumes", _volume(cluster, replica=3)))
    before = {h: len([c for c in stub.calls(h) if c[1] == "lvmwrap" and c[3] == "lvremove"])
              for h in (*GOOD, HUNG)}

    stub.hang(HUNG, "mkfs.xfs")
    t0 = time.monotonic()
    reply = await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 1})
    assert reply.status == 202
    deadline = time.monotonic() + 10
    while not any(c[1] == "mkfs.xfs" for c in stub.calls(HUNG)[-3:]):
        assert time.monotonic() < deadline, "the expand never reached node 3"
        await asyncio.sleep(0.05)
    hung.pause()  # the node dies in the middle of making its brick
    try:
        error = await _job_error(api, reply)
        took = time.monotonic() - t0
        assert "SSH command timeout" in error and HUNG in error, error
        assert took < 8, took  # one command timeout, the undo on node 3 not waited for
        # the new bricks on the live nodes are gone again; the volume did not grow
        for host in GOOD:
            removed = [c for c in stub.calls(host) if c[1] == "lvmwrap" and c[3] == "lvremove"]
            assert len(removed) > before[host], host
        assert (await api.get(f"/volumes/{vol['id']}")).json()["size"] == 1
        pending = (await api.get("/operations/pending")).json()["pendingoperations"]
        assert [(p["type_name"], p["status"]) for p in pending] == [("expand-volume", "failed")]
    finally:
        stub.hang(HUNG, "mkfs.xfs", on=False)
        hung.resume()

    # node 3 answers again: the cleaner removes the brick the expand left there
    deadline = time.monotonic() + 45
    while (await api.get("/operations/pending")).json()["pendingoperations"]:
        assert time.monotonic() < deadline, "the cleaner did not undo the expand"
        await asyncio.sleep(0.5)
    removed = [c for c in stub.calls(HUNG) if c[1] == "lvmwrap" and c[3] == "lvremove"]
    assert len(removed) > before[HUNG], "the brick begun on node 3 was never removed"
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert info["size"] == 1 and {b["id"] for b in info["bricks"]} == \
        {b["id"] for b in vol["bricks"]}
    grown = await api.done(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 1}))
    assert grown["size"] == 2 and len(grown["bricks"]) == 6
