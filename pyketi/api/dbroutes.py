"""``/db/dump`` and ``/db/check`` (indented JSON, as heketi)."""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.db import check, export


async def dump(request: web.Request) -> web.Response:
    return json_response(await runtime(request).db.read(export.dump), indent=4)


async def db_check(request: web.Request) -> web.Response:
    return json_response(await runtime(request).db.read(check.check), indent=4)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/db/dump", dump)
    router.add_get("/db/check", db_check)
