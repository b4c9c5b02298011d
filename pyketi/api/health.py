"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can serve requests).

Both are open (no JWT), cheap and plain text, for Kubernetes probes, systemd and
the Dockerfile ``HEALTHCHECK``:

* ``/healthz``: 200 ``ok`` while the event loop runs; no database access.
* ``/readyz``: 200 ``ready`` when the database answers, its schema is at this
  pyketi's Alembic head and an executor is configured; else 503 with the reason.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.db.health import schema_problem
from pyketi.executors.base import Executor

PATHS = frozenset({"/healthz", "/readyz"})
DB_CHECK_SECONDS = 5.0


def _text(status: int, body: str) -> web.Response:
    return web.Response(status=status, body=(body + "\n").encode(),
                        headers={"Content-Type": "text/plain; charset=utf-8",
                                 "Cache-Control": "no-store"})


async def healthz(_request: web.Request) -> web.Response:
    return _text(200, "ok")


async def readyz(request: web.Request) -> web.Response:
    rt = runtime(request)
    if not isinstance(rt.executor, Executor):
        return _text(503, "not ready: executor not configured")
    try:
        problem = await asyncio.wait_for(rt.db.run_sync(lambda: schema_problem(rt.db.engine)),
                                         DB_CHECK_SECONDS)
    except asyncio.TimeoutError:
        problem = f"database did not answer within {DB_CHECK_SECONDS:g} s"
    if problem:
        return _text(503, f"not ready: {problem}")
    return _text(200, "ready")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/healthz", healthz)
    router.add_get("/readyz", readyz)
