"""Allocation under concurrency: no device is ever overbooked, operations on one
volume never interleave."""

import asyncio

from pyketi.executors.doubles.mock import MockExecutor

BRICK_SPACE_1G = 1048576 + 8192  # 1 GiB thin pool + metadata rounded up to the 4 MiB extent


async def test_50_simultaneous_creates_never_overbook(make_api, db_url):
    # 3 nodes x 1 device of 12 GiB: room for exactly 11 one-GiB replica-3 volumes
    api = await make_api(db_url, executor=MockExecutor(device_size_gib=12),
                         max_inflight_operations=64)
    topo = await api.topology(nodes=3, devices=1)
    body = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}
    replies = await asyncio.gather(*(api.post("/volumes", body) for _ in range(50)))
    accepted = [r for r in replies if r.status == 202]
    refused = [r for r in replies if r.status != 202]
    assert all(r.status == 500 and r.text.startswith("Failed to allocate new volume: No space")
               for r in refused), {r.text for r in refused}
    finals = await asyncio.gather(*(api.wait(r) for r in accepted))
    assert all(f.status == 303 for f in finals)
    assert len(accepted) == 11

    total_used = 0
    for device_id in topo["devices"]:
        d = (await api.get(f"/devices/{device_id}")).json()
        storage = d["storage"]
        assert storage["free"] > 0
        assert storage["free"] + storage["used"] == storage["total"]
        assert storage["used"] == len(d["bricks"]) * BRICK_SPACE_1G
        total_used += storage["used"]
    assert total_used == 11 * 3 * BRICK_SPACE_1G
    check = (await api.get("/db/check")).json()
    assert check["totalinconsistencies"] == 0
    assert len((await api.get("/volumes")).json()["volumes"]) == 11


class SlowExecutor(MockExecutor):
    """Makes operations last long enough to overlap."""

    async def volume_expand(self, *args, **kwargs):
        await asyncio.sleep(0.3)
        return await super().volume_expand(*args, **kwargs)

    async def volume_destroy(self, *args, **kwargs):
        await asyncio.sleep(0.3)
        return await super().volume_destroy(*args, **kwargs)


async def test_expand_and_delete_of_one_volume_do_not_interleave(make_api, db_url):
    api = await make_api(db_url, executor=SlowExecutor())
    await api.topology(nodes=3, devices=2)
    vol = await api.volume(2)
    vid = vol["id"]
    expand, delete = await asyncio.gather(
        api.post(f"/volumes/{vid}/expand", {"expand_size": 2}),
        api.delete(f"/volumes/{vid}"))
    statuses = sorted([expand.status, delete.status])
    assert statuses == [202, 409], (expand.text, delete.text)
    loser = expand if expand.status == 409 else delete
    assert loser.text == f"Volume {vid} is busy with another operation; retry later\n"
    winner = expand if expand.status == 202 else delete
    final = await api.wait(winner)
    assert final.status in (303, 204)
    # the database is consistent: every brick a volume lists exists, no orphans
    check = (await api.get("/db/check")).json()
    assert check["totalinconsistencies"] == 0
    if winner is expand:
        info = (await api.get(f"/volumes/{vid}")).json()
        assert info["size"] == 4 and len(info["bricks"]) == 6
        # now the delete goes through
        assert await api.done(await api.delete(f"/volumes/{vid}")) is None
    assert (await api.get(f"/volumes/{vid}")).status == 404
    dump = (await api.get("/db/dump")).json()
    assert dump["brickentries"] == {} and dump["volumeentries"] == {}


async def test_clone_then_delete_both_leaves_no_lv_behind(make_api, db_url):
    ex = MockExecutor(strict=True)
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=3, devices=1)
    vol = await api.volume(2)
    clone = await api.done(await api.post(f"/volumes/{vol['id']}/clone", {"name": "copy1"}))
    assert clone["name"] == "copy1" and len(clone["bricks"]) == 3
    assert all(b["path"].startswith("/run/gluster/snaps/") for b in clone["bricks"])
    # the database knows each clone brick's LV by the name the node gave it
    on_nodes = {path: brick["lv"] for node in ex.state()["hosts"].values()
                for path, brick in node["bricks"].items()}
    dump = (await api.get("/db/dump")).json()["brickentries"]
    for b in clone["bricks"]:
        assert dump[b["id"]]["LvmLv"] == on_nodes[b["path"]] != ""
    assert await api.done(await api.delete(f"/volumes/{clone['id']}")) is None
    assert await api.done(await api.delete(f"/volumes/{vol['id']}")) is None
    for host, node in ex.state()["hosts"].items():
        assert node["bricks"] == {} and node["pools"] == {} and node["volumes"] == {}, host
