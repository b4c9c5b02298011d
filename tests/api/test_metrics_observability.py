"""pyketi's own metrics next to heketi's gauges: request latency per route pattern,
operation duration per kind and result, failed and rolled-back counters, and a
``heketi_block_volumes_count`` that counts."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyketi.db.models import Volume
from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url


async def samples(api) -> dict[str, list[tuple[dict, float]]]:
    r = await api.get("/metrics", auth=False)
    assert r.status == 200
    out: dict = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(m: dict, name: str, **labels: str) -> float:
    return sum(v for lab, v in m.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


async def test_request_latency_is_labelled_by_route_pattern(api):
    for hex_id in ("aa" * 16, "bb" * 16, "cc" * 16):
        assert (await api.get(f"/volumes/{hex_id}")).status == 404
    assert (await api.get("/no/such/path")).status == 404
    m = await samples(api)
    counts = m["pyketi_http_request_duration_seconds_count"]
    assert ({"method": "GET", "route": "/volumes/{id}"}, 3.0) in counts
    assert ({"method": "GET", "route": "unmatched"}, 1.0) in counts
    assert not any("aa" * 16 in lab["route"] for lab, _ in counts)


async def test_operation_duration_and_failure_counters(make_api, db_url):
    executor = FaultExecutor(MockExecutor(), [
        {"call": "volume_create", "nth": 2, "action": "fail", "message": "disk on fire"}])
    api = await make_api(db_url, executor=executor, volume_create_retries=0)
    await api.topology()
    before = await samples(api)
    assert value(before, "pyketi_operations_failed_total") == 0
    await api.volume(1)  # first volume_create call succeeds
    failed = await api.wait(await api.post("/volumes", {"size": 1}))  # second fails
    assert failed.status == 500 and "disk on fire" in failed.text
    m = await samples(api)
    assert value(m, "pyketi_operation_duration_seconds_count",
                 kind="create-volume", result="done") == 1
    assert value(m, "pyketi_operation_duration_seconds_count",
                 kind="create-volume", result="rolled_back") == 1
    assert value(m, "pyketi_operations_failed_total", kind="create-volume") == 1
    assert value(m, "pyketi_operations_rolled_back_total", kind="create-volume") == 1
    assert value(m, "pyketi_operation_duration_seconds_count", kind="add-node",
                 result="done") == 3


async def test_block_volumes_count_counts_what_block_hosting_volumes_hold(api):
    topo = await api.topology()
    flags = await api.post(f"/clusters/{topo['cluster']}/flags", {"block": True, "file": True})
    assert flags.status == 200
    hosting = await api.volume(2, block=True)
    ids = ["1" * 32, "2" * 32]

    def hold(s):
        v = s.get(Volume, hosting["id"])
        v.blockinfo = {**(v.blockinfo or {}), "blockvolume": ids}
    await api.rt.db.write(hold)
    m = await samples(api)
    assert m["heketi_block_volumes_count"] == [({"cluster": topo["cluster"]}, 2.0)]
