"""The audit trail: every accepted change recorded (who, what, which objects, result,
duration), ``GET /audit`` for admins with filters and pagination, retention."""

from __future__ import annotations

import asyncio
import time

import pytest

from pyketi.api import audit
from pyketi.db.models import AuditRecord
from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor


async def records(api, query: str = "") -> list[dict]:
    r = await api.get("/audit" + query)
    assert r.status == 200, r.text
    return r.json()["audit"]


async def settled(api, query: str = "", timeout: float = 10) -> list[dict]:
    """Records once no job of theirs is still running (the job hook finishes them)."""
    deadline = time.monotonic() + timeout
    while True:
        out = await records(api, query)
        if all(r["result"] != "accepted" for r in out) or time.monotonic() > deadline:
            return out
        await asyncio.sleep(0.05)


async def test_changes_are_recorded_reads_and_refusals_are_not(api):
    cid = await api.cluster()
    assert (await api.get(f"/clusters/{cid}")).status == 200
    assert (await api.post("/nodes", {"zone": 0})).status == 400  # refused: not a change
    node = await api.node(cid, 1)
    out = await settled(api)
    assert [(r["kind"], r["method"], r["route"]) for r in out] == [
        ("node.add", "POST", "/nodes"), ("cluster.create", "POST", "/clusters")]
    node_add, create = out
    assert create["objects"] == [cid] and create["status"] == 201
    assert create["result"] == "done" and create["role"] == "admin"
    assert create["remote"] == "127.0.0.1" and len(create["request_id"]) == 32
    assert node_add["status"] == 202 and node_add["result"] == "done"
    assert node_add["objects"] == [node]  # the node the job created (303 Location)
    assert node_add["duration"] > 0


async def test_failed_job_subject_and_request_id(make_api, db_url, base):
    executor = FaultExecutor(MockExecutor(), [
        {"call": "volume_create", "nth": 0, "action": "fail", "message": "disk on fire"}])
    api = await make_api(db_url, executor=executor, volume_create_retries=0)
    await api.topology()
    signed = base.token("user", "POST", "/volumes", sub="system:serviceaccount:kube:pv")
    r = await api.post("/volumes", {"size": 1}, auth=False, headers={
        "Authorization": f"Bearer {signed}", "X-Request-Id": "pvc-123"})
    assert r.status == 202
    assert (await api.wait(r, role="user")).status == 500
    [rec] = await settled(api, "?role=user")
    assert rec["role"] == "user" and rec["subject"] == "system:serviceaccount:kube:pv"
    assert rec["kind"] == "volume.create" and rec["result"] == "failed"
    assert "disk on fire" in rec["error"] and rec["request_id"] == "pvc-123"
    assert signed not in str(rec)
    assert await settled(api, "?result=failed") == [rec]


async def test_filters_and_pagination(api):
    clusters = [await api.cluster() for _ in range(5)]
    newest_first = list(reversed(clusters))
    page1 = (await api.get("/audit?limit=2")).json()
    assert [r["objects"][0] for r in page1["audit"]] == newest_first[:2]
    page2 = (await api.get(f"/audit?limit=2&marker={page1['next']}")).json()
    assert [r["objects"][0] for r in page2["audit"]] == newest_first[2:4]
    page3 = (await api.get(f"/audit?limit=2&marker={page2['next']}")).json()
    assert [r["objects"][0] for r in page3["audit"]] == newest_first[4:]
    assert "next" not in page3
    assert [r["objects"] for r in await records(api, f"?object={clusters[2].upper()}")] == \
        [[clusters[2]]]
    assert await records(api, "?role=user") == []
    everything = await records(api)
    middle = everything[2]["time"]
    assert {r["id"] for r in await records(api, f"?since={middle}")} == \
        {r["id"] for r in everything if r["time"] >= middle}
    assert {r["id"] for r in await records(api, f"?until={middle}")} == \
        {r["id"] for r in everything if r["time"] < middle}


@pytest.mark.parametrize("query, message", [
    ("?limit=0", "limit: must be between 1 and 1000"),
    ("?limit=x", "limit: must be a positive integer"),
    ("?marker=-1", "marker: must be a positive integer"),
    ("?since=soon", "since: must be a number (Unix time)"),
    ("?since=nan", "since: must be a number (Unix time)"),
    ("?role=root", "role: must be admin or user"),
    ("?result=maybe", "result: must be one of accepted, done, failed"),
    ("?object=xyz", "object: must be an id"),
])
async def test_bad_filters_are_400(api, query, message):
    r = await api.get("/audit" + query)
    assert r.status == 400
    assert r.text == f"validation failed: {message}.\n"


async def test_admin_only(api):
    r = await api.get("/audit", role="user")
    assert (r.status, r.text) == (401, "Administrator access required\n")


async def test_retention_purges_old_records(make_api, db_url):
    api = await make_api(db_url, audit_retention_days=1)
    await api.cluster()
    await api.cluster()
    [newer, older] = await records(api)

    def age(record_id: int, when: float):
        def do(s):
            s.get(AuditRecord, record_id).time = when
        return do
    await api.rt.db.write(age(older["id"], time.time() - 2 * 86400))
    assert await audit.purge_once(api.rt) == 1
    assert [r["id"] for r in await records(api)] == [newer["id"]]
    keep = await make_api(db_url, audit_retention_days=0)  # 0: kept for ever
    await keep.rt.db.write(age(newer["id"], 0.0))
    assert await audit.purge_once(keep.rt) == 0
    assert [r["id"] for r in await records(keep)] == [newer["id"]]


async def test_change_finished_by_the_cleaner_after_a_restart(make_api, db_url):
    """The process that accepted a change died mid-operation: the record stays
    'accepted' until the background cleaner rolls the operation back, then 'failed'."""
    from sqlalchemy import update

    from pyketi.db.models import Operation

    executor = FaultExecutor(MockExecutor(), [
        {"call": "volume_create", "nth": 1, "action": "hang", "seconds": 3600}])
    api = await make_api(db_url, executor=executor)
    await api.topology()
    assert (await api.post("/volumes", {"size": 1})).status == 202
    [rec] = await records(api, "?result=accepted")
    for _ in range(200):  # wait until the operation hangs in its volume_create step
        if api.rt.runner.running_ops and executor.calls and executor.calls[-1].call == "volume_create":
            break
        await asyncio.sleep(0.02)
    for task in list(api.rt.runner.jobs.tasks):  # the process "dies": its job never ends
        task.cancel()
    await asyncio.gather(*api.rt.runner.jobs.tasks, return_exceptions=True)
    assert [r["result"] for r in await records(api)][0] == "accepted"
    await api.rt.db.write(lambda s: s.execute(update(Operation).values(owner="d" * 32)))
    assert await api.rt.runner.clean_stale() == 1
    [after] = [r for r in await settled(api) if r["id"] == rec["id"]]
    assert after["result"] == "failed"
    assert after["error"] == "operation interrupted (pyketi restarted) and rolled back"
