"""Role scoping (issue 8 items 9 and 10): the user role changes only the volumes it
created, reads only the queue entries it submitted, and finished entries nobody
polls expire after ``glusterfs.job_retention_seconds``."""

from __future__ import annotations

import asyncio
import time

from apihelp import accepted, json_ok, text_error, topology, unknown_id
from sqlalchemy import select

from pyketi.db.models import Job

DENIED = "Administrator access required"
R3 = {"type": "replicate", "replicate": {"replica": 3}}


async def finished(api, reply) -> str:
    """The queue location of a 202 whose operation has ended, not yet polled."""
    location = accepted(reply)
    await api.rt.runner.jobs.wait_idle()
    return location


async def job_row_exists(api, location: str) -> bool:
    job_id = location[len("/queue/"):]
    return await api.rt.db.read(lambda s: s.execute(
        select(Job.id).where(Job.id == job_id)).first() is not None)


# -- item 10: a job is readable only by the role that submitted it (admin reads all)

async def test_user_cannot_read_an_admin_job_and_does_not_consume_it(api):
    await topology(api, nodes=3)
    location = await finished(api, await api.post("/volumes", {"size": 1, "durability": R3}))
    for _ in range(2):
        text_error(await api.get(location, role="user"), 404, "Id not found")
    final = await api.get(location)                       # still there for the admin
    assert final.status == 303 and final.headers["Location"].startswith("/volumes/")
    text_error(await api.get(location), 404, "Id not found")   # consumed by that read


async def test_user_cannot_see_a_pending_admin_job(gated_api):
    api, executor = await gated_api("volume_create")
    await topology(api, nodes=3)
    reply = await api.post("/volumes", {"size": 1, "durability": R3})
    location = accepted(reply)
    await executor.reached()
    text_error(await api.get(location, role="user"), 404, "Id not found")
    pending = await api.get(location)
    assert (pending.status, pending.headers.get("X-Pending")) == (200, "true")
    executor.release()
    assert (await api.wait(reply)).status == 303


async def test_admin_reads_a_user_job_and_the_user_reads_its_own(api):
    await topology(api, nodes=3)
    location = await finished(api, await api.post("/volumes", {"size": 1}, role="user"))
    final = await api.get(location)                       # admin reads the user's job
    assert final.status == 303, (final.status, final.text)
    vol = await api.done(await api.post("/volumes", {"size": 1}, role="user"), role="user")
    assert vol["size"] == 1


async def test_finished_job_never_polled_expires_on_read(make_api, db_url):
    api = await make_api(db_url, job_retention_seconds=60)
    await topology(api, nodes=3)
    location = await finished(api, await api.post("/volumes", {"size": 1}))
    assert await job_row_exists(api, location)
    api.rt.runner.jobs.clock = lambda: time.time() + 61          # the retention has passed
    text_error(await api.get(location), 404, "Id not found")
    assert not await job_row_exists(api, location)


async def test_finished_job_never_polled_is_purged_in_the_background(make_api, db_url):
    api = await make_api(db_url, job_retention_seconds=1)
    await topology(api, nodes=3)
    location = await finished(api, await api.post("/volumes", {"size": 1}))
    deadline = time.monotonic() + 10
    while await job_row_exists(api, location):
        assert time.monotonic() < deadline, "expired queue entry never purged"
        await asyncio.sleep(0.1)
    text_error(await api.get(location), 404, "Id not found")


# -- item 9: the user role changes only the volumes it created (admin changes all)

async def test_user_cannot_delete_or_expand_an_admin_volume(api):
    await topology(api, nodes=3)
    vol = await api.volume(1)
    path = f"/volumes/{vol['id']}"
    text_error(await api.delete(path, role="user"), 401, DENIED)
    text_error(await api.post(f"{path}/expand", {"expand_size": 1}, role="user"), 401, DENIED)
    # request validation still comes first (heketi's order), unknown ids stay 404
    text_error(await api.post(f"{path}/expand", {}, role="user"), 400,
               "validation failed: expand_size: cannot be blank.")
    text_error(await api.delete(f"/volumes/{unknown_id()}", role="user"), 404, "Id not found")
    info = json_ok(await api.get(path, role="user"))      # reads stay open, nothing changed
    assert info["size"] == 1
    assert vol["id"] in json_ok(await api.get("/volumes"))["volumes"]
    assert await api.done(await api.post(f"{path}/expand", {"expand_size": 1})) is not None


async def test_user_changes_its_own_volume_and_admin_deletes_a_user_volume(api):
    await topology(api, nodes=3)
    mine = await api.done(await api.post("/volumes", {"size": 1}, role="user"), role="user")
    grown = await api.done(await api.post(f"/volumes/{mine['id']}/expand", {"expand_size": 1},
                                          role="user"), role="user")
    assert grown["size"] == 2
    assert await api.done(await api.delete(f"/volumes/{mine['id']}", role="user"),
                          role="user") is None
    other = await api.done(await api.post("/volumes", {"size": 1}, role="user"), role="user")
    assert await api.done(await api.delete(f"/volumes/{other['id']}")) is None
    assert json_ok(await api.get("/volumes"))["volumes"] == []
