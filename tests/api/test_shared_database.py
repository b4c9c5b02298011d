"""Two pyketi instances sharing one database (the reason for PostgreSQL):
allocation stays exact and each instance answers for the other's jobs."""

import asyncio

from pyketi.executors.doubles.mock import MockExecutor

BRICK_SPACE_1G = 1048576 + 8192


async def test_two_instances_never_overbook_and_share_the_queue(make_api, db_url):
    executor = MockExecutor(device_size_gib=12)
    a = await make_api(db_url, executor=executor, max_inflight_operations=64)
    b = await make_api(db_url, executor=executor, max_inflight_operations=64)
    topo = await a.topology(nodes=3, devices=1)
    body = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}
    replies = await asyncio.gather(*((a if i % 2 else b).post("/volumes", body)
                                     for i in range(30)))
    accepted = [r for r in replies if r.status == 202]
    assert len(accepted) == 11, sorted({r.text for r in replies})
    # poll every job through the *other* instance: the queue lives in the database
    finals = await asyncio.gather(*(b.wait(r) for r in accepted))
    assert [f.status for f in finals] == [303] * 11
    for device_id in topo["devices"]:
        d = (await b.get(f"/devices/{device_id}")).json()
        assert d["storage"]["used"] == len(d["bricks"]) * BRICK_SPACE_1G == 11 * BRICK_SPACE_1G
        assert d["storage"]["free"] + d["storage"]["used"] == d["storage"]["total"]
    assert (await a.get("/db/check")).json()["totalinconsistencies"] == 0
