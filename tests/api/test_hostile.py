"""Hostile-input run over every route (issue 8): no 5xx, no traceback, and ``/db/dump``
unchanged after every refused request, on SQLite and PostgreSQL.

The one 5xx allowed is heketi's own synchronous ``500 Failed to allocate …`` for a
volume that does not fit (its clients expect it); those are counted apart.

CI runs 2 seeds x 300 requests per database; ``PYKETI_HOSTILE_FULL=1`` runs
10 seeds x 2,000.  The generator is ``hostile.py``.
"""

from __future__ import annotations

import os
import time

import pytest

import hostile
from apihelp import topology

FULL = os.environ.get("PYKETI_HOSTILE_FULL") == "1"
SEEDS = range(1, 11) if FULL else range(1, 3)
REQUESTS = 2000 if FULL else 300


@pytest.fixture
async def world(api):
    """Three nodes with two devices each, a volume of the admin's and one of a user's."""
    await topology(api, nodes=3, devices=2)
    await api.volume(1)
    body = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}
    await api.done(await api.post("/volumes", body, role="user"))
    return api


@pytest.mark.parametrize("seed", SEEDS)
async def test_hostile_requests(world, keys, seed, record_property):
    started = time.monotonic()
    report = await hostile.run(world, keys, seed, REQUESTS)
    elapsed = time.monotonic() - started
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    summary = (f"seed {seed}: {report.requests} requests, "
               f"{len(report.server_errors)} 5xx, "
               f"{len(report.changed_by_refused)} refused-but-changed, {report.dumps} dumps "
               f"compared, {elapsed:.1f}s, "
               f"load {load}, statuses {dict(sorted(report.statuses.items()))}, "
               f"heketi placement 500s {sum(report.heketi_500s.values())}, "
               f"queue failures {sum(report.queue_failures.values())}")
    record_property("hostile", summary)
    print(summary)
    assert report.requests == REQUESTS
    assert len(report.statuses) > 5, report.statuses  # the run reached more than one answer
    problems = report.problems()
    assert not problems, "\n".join(problems[:30])


async def test_every_route_is_attacked(api, keys):
    """The route list is the router's: a route added later is in the run by itself."""
    client = hostile.HostileClient(api, keys, 0)
    routes = {(r.method, r.resource.canonical) for r in api.client.server.app.router.routes()}
    assert set(client.routes) == routes
    assert ("POST", "/volumes/{id}/clone") in routes and ("GET", "/db/dump") in routes
    seen = set()
    dump = (await api.get("/db/dump")).json()
    for _ in range(3000):
        method, target, _, _ = client.build(dump)
        seen.add(target.split("?")[0].split("/")[1])
    assert {r[1].split("/")[1] for r in routes} <= seen


async def test_a_refused_request_that_changes_the_database_is_caught(make_api, db_url, keys,
                                                                     monkeypatch):
    """The checker itself: a handler that writes and then answers 400 must be reported."""
    from pyketi.api import clusters
    from pyketi.errors import BadRequest
    real_create = clusters.create

    async def create_then_refuse(request):
        await real_create(request)
        raise BadRequest("validation failed: refused after writing.")

    monkeypatch.setattr(clusters, "create", create_then_refuse)
    api = await make_api(db_url)
    client = hostile.HostileClient(api, keys, 7)
    client.routes = [("POST", "/clusters")]
    monkeypatch.setattr(hostile, "HostileClient", lambda *_args: client)
    report = await hostile.run(api, keys, 7, 40)
    assert report.changed_by_refused, report.statuses
    assert all(s.status == 400 and s.path.startswith("/clusters")
               for s in report.changed_by_refused)
