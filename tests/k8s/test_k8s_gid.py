"""GIDs: the provisioner's per-StorageClass tables, pyketi's optional
server-side allocator (``glusterfs.gid_range``), and 20 parallel claims that
must never get the same gid or the same brick space."""

from __future__ import annotations

import asyncio

from k8shelp import SQLITE_ONLY, check_accounting, check_bound
from provisioner import ANN_GID, ANN_HEKETI_VOLUME_ID, PVC

from pyketi.executors.doubles.mock import MockExecutor

REPLICA3 = {"type": "replicate", "replicate": {"replica": 3}}


async def create(api, role="user", **body):
    """POST /volumes and follow it; returns (final status, volume JSON or error text)."""
    r = await api.post("/volumes", {"size": 1, "durability": REPLICA3, **body}, role=role)
    if r.status != 202:
        return r.status, r.text
    final = await api.wait(r, role=role)
    if final.status != 303:
        return final.status, final.text
    return 200, (await api.get(final.headers["Location"], role=role)).json()


class GatedDestroy(MockExecutor):
    """``volume_destroy`` waits until ``release`` is set."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def volume_destroy(self, host, name):
        self.entered.set()
        await self.release.wait()
        return await super().volume_destroy(host, name)


async def test_server_allocator_hands_out_the_lowest_free_gid(db_url, make_api):
    executor = GatedDestroy()
    api = await make_api(db_url, executor=executor, gid_min=2000, gid_max=2004)
    await api.topology(nodes=3)
    _, explicit = await create(api, gid=2001)                 # a provisioner's own gid
    assert explicit["gid"] == 2001
    _, a = await create(api)
    _, b = await create(api, gid=0)
    assert (a["gid"], b["gid"]) == (2000, 2002)                # 2001 is taken: skipped
    _, outside = await create(api, gid=9000)                   # outside the range: kept
    assert outside["gid"] == 9000
    _, c = await create(api)
    assert c["gid"] == 2003
    # a clone shares its source's gid: it stays taken while the clone lives
    clone = await api.done(await api.post(f"/volumes/{c['id']}/clone", {}))
    assert clone["gid"] == 2003
    # deleting a volume frees its gid only once the volume is gone
    delete = await api.delete(f"/volumes/{a['id']}", role="user")
    assert delete.status == 202
    await asyncio.wait_for(executor.entered.wait(), 10)
    _, d = await create(api)
    assert d["gid"] == 2004                                    # not 2000: still on the nodes
    status, text = await create(api)
    assert (status, text) == (500, "Failed to allocate new volume: no free gid left in the "
                                   "range 2000-2004\n")
    executor.release.set()
    assert (await api.wait(delete, role="user")).status == 204
    # c's own volume goes, its clone keeps 2003 in use
    executor_release_delete = await api.delete(f"/volumes/{c['id']}")
    assert (await api.wait(executor_release_delete)).status == 204
    _, e = await create(api)
    assert e["gid"] == 2000                                    # freed by the finished delete
    status, text = await create(api)
    assert status == 500 and "no free gid left" in text       # 2003 is the clone's
    gids = []
    for vid in (await api.get("/volumes")).json()["volumes"]:
        gids.append((await api.get(f"/volumes/{vid}")).json()["gid"])
    assert sorted(gids) == [2000, 2001, 2002, 2003, 2004, 9000]
    check = (await api.get("/db/check")).json()
    assert check["totalinconsistencies"] == 0


@SQLITE_ONLY
async def test_without_a_range_a_volume_without_gid_gets_none(db_url, make_api):
    api = await make_api(db_url)
    await api.topology(nodes=3)
    _, vol = await create(api)
    assert "gid" not in vol
    _, explicit = await create(api, gid=2000)
    assert explicit["gid"] == 2000


@SQLITE_ONLY
async def test_overlapping_class_ranges_are_accepted_as_in_heketi(k8s):
    """The in-tree plugin always sends its class's gid; refusing a duplicate would
    make its table offer the same gid forever, so pyketi accepts it (heketi
    does too). Hence: give every StorageClass its own range (docs/kubernetes.md)."""
    env = await k8s(nodes=3, gid_min=2000, gid_max=2999)
    a = env.user_class("class-a")
    b = env.user_class("class-b")
    one, two = PVC("one", "1Gi", "apps", "class-a"), PVC("two", "1Gi", "apps", "class-b")
    await env.ctl.provision(one)
    await env.ctl.provision(two)
    v1 = await check_bound(env, one, a, 1, (2000, 2000))
    v2 = await check_bound(env, two, b, 1, (2000, 2000))
    assert v1["gid"] == v2["gid"] == 2000
    # the server's own allocator never hands out a gid a live volume has
    _, v3 = await create(env.api)
    assert v3["gid"] == 2001


async def test_20_parallel_claims_never_share_a_gid_or_brick_space(k8s):
    """Two clusters, two classes (each pinned to a cluster by ``clusterid``, own
    gid range), 20 claims at once - and at the same time 20 creates asking the
    server for a gid (as heketi-cli or a CSI driver would), across both clusters.
    The second cluster is too small for all of its share: some fail with No space."""
    env = await k8s(nodes=3, devices=2, clusters=2, device_size_gib=12,
                    gid_min=3000, gid_max=3999, max_inflight_operations=64)
    c1, c2 = env.topologies[0]["cluster"], env.topologies[1]["cluster"]
    a = env.user_class("fast", clusterid=c1, gidMin="2000", gidMax="2099")
    b = env.user_class("big", clusterid=c2, gidMin="2100", gidMax="2199")
    claims = [PVC(f"a{i}", "1Gi", "apps", "fast") for i in range(10)]
    claims += [PVC(f"b{i}", "2Gi", "apps", "big") for i in range(10)]

    results = await asyncio.gather(
        *(env.ctl.provision_until_bound(pvc, attempts=1) for pvc in claims),
        *(create(env.api, clusters=[c1 if i % 2 else c2]) for i in range(20)))
    bound, created = results[:20], results[20:]

    # every outcome is a success or a clean "No space"
    for pvc, pv in zip(claims, bound):
        if pv is None:
            assert pvc.storage_class == "big", pvc.events
            assert pvc.events[-1][1].startswith(
                "failed to create volume: failed to create volume: Failed to allocate new "
                "volume: No space"), pvc.events
    for status, body in created:
        assert status == 200 or (status == 500 and body.startswith(
            "Failed to allocate new volume: No space")), (status, body)
    assert all(pv is not None for pv in bound[:10])             # cluster 1 has room
    assert any(pv is None for pv in bound[10:]) or any(s == 500 for s, _ in created)

    # no volume without a claim or a caller: nothing leaked
    live = sorted(await env.volume_ids())
    claim_ids = [pv.annotations[ANN_HEKETI_VOLUME_ID] for pv in bound if pv is not None]
    server_ids = [body["id"] for status, body in created if status == 200]
    assert live == sorted(claim_ids + server_ids)

    # distinct gids, each from the range it was asked from
    gids = {}
    for vid in live:
        gids[vid] = (await env.api.get(f"/volumes/{vid}")).json()["gid"]
    assert len(set(gids.values())) == len(live), sorted(gids.values())
    server_gids = sorted(gids[v] for v in server_ids)
    assert server_gids == list(range(3000, 3000 + len(server_ids)))   # lowest free first
    for pvc, pv in zip(claims, bound):
        if pv is not None:
            assert gids[pv.annotations[ANN_HEKETI_VOLUME_ID]] == int(pv.annotations[ANN_GID])
    await asyncio.gather(*(
        check_bound(env, pvc, *((a, 1, (2000, 2009)) if pvc.storage_class == "fast"
                                else (b, 2, (2100, 2109))))
        for pvc, pv in zip(claims, bound) if pv is not None))
    # space: per device, bricks == used, free + used == total, nodes agree, db/check clean
    await check_accounting(env)
