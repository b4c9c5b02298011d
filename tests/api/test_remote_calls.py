"""Remote calls per node of a replica-3 volume's life, through the API and the
``ssh`` executor, against three fake nodes (``tests/fakenode.py``, one address
each, every batch and connection recorded per address) - issue 9, real nodes:

* create and expand: one brick batch per node (the three nodes at once), one
  gluster batch on one node;
* delete: one batch per node for its bricks, one for the gluster volume, i.e.
  at most 2 remote calls per node touched;
* one SSH connection per node for the server's whole life.
"""

from __future__ import annotations

import threading

import pytest

from fakenode import FakeNode
from pyketi.executors.factory import make_executor

ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


@pytest.fixture
def nodes(tmp_path):
    node = FakeNode(tmp_path, addresses=ADDRESSES).start()
    yield node
    node.stop()


@pytest.fixture
async def api(make_api, sqlite_url, nodes):
    executor = make_executor({"executor": "ssh", "sshexec": nodes.sshexec()}, env={})
    return await make_api(sqlite_url, executor=executor, volume_create_retries=0)


async def three_nodes(api) -> list[str]:
    cid = await api.cluster()
    devices = []
    for zone, ip in enumerate(ADDRESSES, 1):
        node = await api.done(await api.post("/nodes", {
            "zone": zone, "cluster": cid,
            "hostnames": {"manage": [ip], "storage": [ip]}}))
        devices.append(node["id"])
        await api.done(await api.post("/devices", {"node": node["id"], "name": "/dev/sdb"}))
    return devices


async def free_space(api) -> dict[str, int]:
    out = {}
    for cid in (await api.get("/clusters")).json()["clusters"]:
        for nid in (await api.get(f"/clusters/{cid}")).json()["nodes"]:
            for d in (await api.get(f"/nodes/{nid}")).json()["devices"]:
                out[d["id"]] = d["storage"]["free"]
    return out


async def test_replica3_life_makes_at_most_two_remote_calls_per_node(api, nodes):
    await three_nodes(api)
    free_before = await free_space(api)

    mark = len(nodes.batches)
    vol = await api.done(await api.post("/volumes", {
        "size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    create = nodes.calls_per_host(mark)
    assert sorted(create.values()) == [1, 1, 2], create   # bricks x3, then gluster on one
    assert nodes.lvm.pools and len(nodes.lvm.pools) == 3

    mark = len(nodes.batches)
    vol = await api.done(await api.post(f"/volumes/{vol['id']}/expand",
                                        {"expand_size": 2}))
    assert vol["size"] == 4
    expand = nodes.calls_per_host(mark)
    assert sorted(expand.values()) == [1, 1, 2], expand
    assert len(nodes.lvm.pools) == 6

    mark = len(nodes.batches)
    r = await api.delete(f"/volumes/{vol['id']}")
    assert (await api.wait(r)).status == 204
    delete = nodes.calls_per_host(mark)
    assert set(delete) == set(ADDRESSES)                   # every node held bricks
    assert sorted(delete.values()) == [1, 1, 2], delete    # bricks x3, volume on one
    # the one batch per node removed every brick LV and pool, and pyketi knows it
    assert nodes.lvm.pools == {}
    assert await free_space(api) == free_before

    # one connection per node, opened by node add and kept for everything after
    assert sorted(nodes.connections) == ADDRESSES
    assert nodes.errors == []


async def test_a_failed_brick_batch_is_undone_in_one_batch_per_node(api, nodes):
    """mkfs fails on one node after its lvcreate: the undo destroys the bricks of
    all three nodes, one batch each, and nothing is left on any of them."""
    await three_nodes(api)
    free_before = await free_space(api)
    nodes.on(r"mkfs\.xfs ", exit_status=1, stderr="mkfs.xfs: cannot open\n", times=1)
    mark = len(nodes.batches)
    r = await api.post("/volumes", {
        "size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}})
    final = await api.wait(r)
    assert final.status == 500 and "mkfs.xfs: cannot open" in final.text
    calls = nodes.calls_per_host(mark)
    assert calls == {ip: 2 for ip in ADDRESSES}, calls    # create batch, undo batch
    assert not any(" volume create " in line for line in nodes.lines())
    assert nodes.lvm.pools == {}
    assert await free_space(api) == free_before
    assert (await api.get("/volumes")).json()["volumes"] == []


async def test_brick_batches_of_the_nodes_run_at_the_same_time(api, nodes):
    """The three brick batches of a create overlap: each node's ``lvcreate`` is
    held until all three have arrived (a serial create would never get there)."""
    await three_nodes(api)
    barrier = threading.Barrier(3, timeout=10)

    def at_lvcreate(argv: list[str]) -> tuple[int, str, str]:
        barrier.wait()               # BrokenBarrierError after 10 s if one at a time
        return nodes.lvm.answer(argv)

    nodes.on(r" lvcreate ", answer=at_lvcreate, times=3)
    vol = await api.done(await api.post("/volumes", {
        "size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    assert vol["size"] == 2 and len(nodes.lvm.pools) == 3
    assert nodes.errors == []
