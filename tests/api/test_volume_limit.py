"""heketi's ``max_volumes_per_cluster`` (``volume_entry_allocate.go``): a cluster that
holds that many volumes takes no more; the reply names the count and the limit."""

from __future__ import annotations

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
