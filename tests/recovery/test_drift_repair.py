"""Drift examine and repair on the mock executor: each kind of drift made by
hand on the (fake) nodes or in the database, listed with its action by the
examine, taken by the repair, and gone afterwards."""

from sqlalchemy import delete

from pyketi.db.models import Brick
from pyketi.executors.base import BrickRequest
from pyketi.executors.doubles.mock import MockExecutor
from pyketi.operations import repair

LEFT = "f" * 32


async def test_each_kind_of_drift_is_listed_then_repaired(make_api, db_url):
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    topo = await api.topology(nodes=3, devices=1)
    gone, lvless, partial = (await api.volume(1), await api.volume(1), await api.volume(1))
    hosts = {n: (await api.get(f"/nodes/{n}")).json()["hostnames"]["manage"][0]
             for n in topo["nodes"]}
    free_before = {d: (await api.get(f"/devices/{d}")).json()["storage"]["free"]
                   for d in topo["devices"]}

    # 1. volume deleted by hand in gluster
    await ex.volume_destroy(hosts[topo["nodes"][0]], gone["name"])
    # 2. brick LV removed by hand (the volume still lists the brick)
    lost = lvless["bricks"][1]
    await ex.bricks_destroy(hosts[lost["node"]], [BrickRequest(
        id=lost["id"], device_id=lost["device"], node_storage=hosts[lost["node"]],
        size_kib=1, tp_size_kib=1, pool_metadata_kib=1, path=lost["path"])])
    # 3. a brick of a volume missing from the database
    forgotten = partial["bricks"][2]
    await api.rt.db.write(lambda s: s.execute(delete(Brick).where(Brick.id == forgotten["id"])))
    # 4. leftovers of a failed operation: a brick with no database object
    left_host = hosts[topo["nodes"][0]]
    left_dev = topo["devices"][0]
    await ex.bricks_create(left_host, [BrickRequest(
        id=LEFT, device_id=left_dev, node_storage=left_host, size_kib=1024,
        tp_size_kib=1024, pool_metadata_kib=8)])

    found = await repair.examine(api.rt)
    got = sorted((f.kind, f.action.split(":")[0]) for f in found)
    assert got == [("brick-lv-missing", "recreate-brick"),
                   ("brick-not-in-db", "adopt-brick"),
                   ("leftover-brick", "destroy-leftover"),
                   ("volume-not-in-gluster", "forget-volume")]
    examine = (await api.get("/internal/state/examine/gluster")).json()
    assert any(line.startswith("brick-lv-missing") and lost["path"] in line
               for line in examine["report"])
    assert any(line.startswith("leftover-brick") for line in examine["report"])
    assert len(examine["drift"]) == 4

    results = await repair.apply(api.rt, found)
    assert all(r["ok"] for r in results), results
    assert await repair.examine(api.rt) == []
    # and again: nothing left to do, nothing breaks
    assert await repair.apply(api.rt, []) == []

    assert (await api.get(f"/volumes/{gone['id']}")).status == 404
    assert not any(gone["name"] in str(v["bricks"]) for v in ex.volumes().values())
    for brick in gone["bricks"]:
        assert brick["path"] not in ex.bricks_on(hosts[brick["node"]])
    assert lost["path"] in ex.bricks_on(hosts[lost["node"]])
    adopted = (await api.get(f"/volumes/{partial['id']}")).json()["bricks"]
    assert forgotten["id"] in {b["id"] for b in adopted} and len(adopted) == 3
    assert not any(LEFT in path for path in ex.bricks_on(left_host))
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0
    # space: the forgotten volume's bricks gave theirs back on every device
    free_after = {d: (await api.get(f"/devices/{d}")).json()["storage"]["free"]
                  for d in topo["devices"]}
    # (each device held one brick of it) and the adopted brick is counted once
    gained = {free_after[d] - free_before[d] for d in free_before}
    assert len(gained) == 1 and gained.pop() > 0


async def test_unreachable_node_is_reported_and_left_alone(make_api, db_url):
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    topo = await api.topology(nodes=3, devices=1)
    await api.volume(1)
    host = (await api.get(f"/nodes/{topo['nodes'][2]}")).json()["hostnames"]["manage"][0]
    ex.unreachable_hosts.add(host)
    found = await repair.examine(api.rt)
    assert [(f.kind, f.host) for f in found] == [("node-unreachable", host)]
    results = await repair.apply(api.rt, found)
    assert results[0]["result"] == "nothing to do (reported only)"
