"""heketi's ``max_volumes_per_cluster`` (``volume_entry_allocate.go``): a cluster that
holds that many volumes takes no more; the reply names the count and the limit."""

from __future__ import annotations

import asyncio

from apihelp import text_error, topology

R3 = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}


async def test_a_full_cluster_takes_no_more_volumes(make_api, db_url):
    api = await make_api(db_url, max_volumes_per_cluster=2)
    await topology(api, nodes=3, devices=1)
    first = await api.volume(1)
    await api.volume(1)
    text_error(await api.post("/volumes", R3), 500,
               "Failed to allocate new volume: Cluster has 2 volumes and limit is 2")
    assert (await api.wait(await api.delete(f"/volumes/{first['id']}"))).status == 204
    await api.volume(1)  # room again
    # a limit lowered below what the cluster holds: the real count is reported
    api.rt.config.max_volumes_per_cluster = 1
    text_error(await api.post("/volumes", R3), 500,
               "Failed to allocate new volume: Cluster has 2 volumes and limit is 1")
    api.rt.config.max_volumes_per_cluster = 0
    text_error(await api.post("/volumes", R3), 500,
               "Failed to allocate new volume: Cluster has 2 volumes and limit is 0")


async def test_no_limit(make_api, db_url):
    api = await make_api(db_url, max_volumes_per_cluster=-1)
    await topology(api, nodes=3, devices=1)
    for _ in range(3):
        await api.volume(1)


def refused_for_limit(reply, limit: int) -> bool:
    return (reply.status, reply.text) == (
        500, f"Failed to allocate new volume: Cluster has {limit} volumes and limit is {limit}\n")


async def test_the_limit_holds_under_concurrent_creates_and_deletes_of_two_servers(
        make_api, db_url):
    """Two servers on one database (PostgreSQL: two instances sharing it) create at once
    in one cluster: exactly ``limit`` volumes are accepted; deletes running alongside
    creates free exactly as many places as they remove, and ``/db/check`` finds the
    count kept by the database equal to the cluster's rows."""
    limit = 5
    one = await make_api(db_url, max_volumes_per_cluster=limit, max_inflight_operations=64)
    two = await make_api(db_url, max_volumes_per_cluster=limit, max_inflight_operations=64)
    await topology(one, nodes=3, devices=2)
    replies = await asyncio.gather(*(api.post("/volumes", R3) for _ in range(8)
                                     for api in (one, two)))
    accepted = [r for r in replies if r.status == 202]
    refused = [r for r in replies if r.status != 202]
    assert len(accepted) == limit, [(r.status, r.text) for r in refused]
    assert all(refused_for_limit(r, limit) for r in refused), {r.text for r in refused}
    finals = await asyncio.gather(*(one.wait(r) for r in accepted))
    assert [f.status for f in finals] == [303] * limit
    volumes = (await one.get("/volumes")).json()["volumes"]
    assert len(volumes) == limit

    # two deletes and eight creates at once: the creates get at most the two places
    deletes = [one.delete(f"/volumes/{volumes[0]}"), two.delete(f"/volumes/{volumes[1]}")]
    creates = [api.post("/volumes", R3) for _ in range(4) for api in (one, two)]
    replies = await asyncio.gather(*deletes, *creates)
    assert [r.status for r in replies[:2]] == [202, 202]
    assert [(await one.wait(r)).status for r in replies[:2]] == [204, 204]
    late = [r for r in replies[2:] if r.status == 202]
    assert len(late) <= 2
    assert all(refused_for_limit(r, limit) for r in replies[2:] if r.status != 202)
    assert [(await one.wait(r)).status for r in late] == [303] * len(late)
    assert len((await two.get("/volumes")).json()["volumes"]) == limit - 2 + len(late)
    # whatever the interleaving, the cluster fills up to the limit again, and no further
    for _ in range(2 - len(late)):
        await one.volume(1)
    assert refused_for_limit(await two.post("/volumes", R3), limit)
    assert (await one.get("/db/check")).json()["totalinconsistencies"] == 0
