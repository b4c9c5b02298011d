"""``GET /topology`` (pyketi extension): the whole topology in one reply, the same
JSON heketi's client composes from ``GET /clusters``, each ``/clusters/{id}``,
``/volumes/{id}`` and ``/nodes/{id}`` (heketi-spec §1.4, topology info)."""

from __future__ import annotations

from apihelp import accepted, json_ok, text_error, topology

R3 = {"type": "replicate", "replicate": {"replica": 3}}


async def composed(api) -> dict:
    """What heketi's client (``client/api/go-client/topology.go``) builds."""
    clusters = []
    for cid in json_ok(await api.get("/clusters"))["clusters"]:
        info = json_ok(await api.get(f"/clusters/{cid}"))
        clusters.append({
            "volumes": [json_ok(await api.get(f"/volumes/{v}")) for v in info["volumes"]],
            "nodes": [json_ok(await api.get(f"/nodes/{n}")) for n in info["nodes"]],
            "id": info["id"], "block": info["block"], "file": info["file"]})
    return {"clusters": clusters}


async def test_empty_server(api):
    assert json_ok(await api.get("/topology")) == {"clusters": []}


async def test_same_as_heketis_composition(api):
    first = await topology(api, nodes=3, devices=2)
    second = await topology(api, nodes=3, devices=1, first=4)
    await api.post(f"/nodes/{first['nodes'][0]}/tags",
                   {"change_type": "set", "tags": {"rack": "r1"}})
    await api.post(f"/clusters/{second['cluster']}/flags", {"block": True, "file": True})
    for size in (1, 2):
        await api.volume(size, clusters=[first["cluster"]])
    await api.volume(1, clusters=[second["cluster"]], gid=2001,
                     glustervolumeoptions=["performance.readdir-ahead off"])
    await api.post(f"/devices/{first['devices'][1]}/state", {"state": "offline"})

    reply = await api.get("/topology")
    bulk = json_ok(reply)
    assert bulk == await composed(api)
    assert [c["id"] for c in bulk["clusters"]] == sorted([first["cluster"], second["cluster"]])
    by_id = {c["id"]: c for c in bulk["clusters"]}
    assert [len(by_id[first["cluster"]]["volumes"]), len(by_id[second["cluster"]]["volumes"])] \
        == [2, 1]
    assert all(len(c["nodes"]) == 3 for c in bulk["clusters"])
    bricks = [b for v in by_id[first["cluster"]]["volumes"] for b in v["bricks"]]
    on_devices = [b for n in by_id[first["cluster"]]["nodes"] for d in n["devices"]
                  for b in d["bricks"]]
    assert sorted(b["id"] for b in bricks) == sorted(b["id"] for b in on_devices)


async def test_volume_being_deleted_is_left_out(gated_api):
    api, executor = await gated_api("volume_destroy")
    await topology(api, nodes=3, devices=1)
    kept, going = await api.volume(1), await api.volume(1)
    r = await api.delete(f"/volumes/{going['id']}")
    accepted(r)
    bulk = json_ok(await api.get("/topology"))
    [cluster] = bulk["clusters"]
    assert [v["id"] for v in cluster["volumes"]] == [kept["id"]]
    assert bulk == await composed(api)
    executor.release()
    assert (await api.wait(r)).status == 204
    assert json_ok(await api.get("/topology")) == await composed(api)


async def test_admin_only(api):
    await topology(api, nodes=3, devices=1)
    text_error(await api.get("/topology", role="user"), 401, "Administrator access required")
    assert (await api.get("/topology", auth=False)).status == 401
