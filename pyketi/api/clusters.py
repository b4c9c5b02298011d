"""Cluster routes (heketi ``app_cluster.go``): all synchronous."""

from __future__ import annotations

from aiohttp import web
from pyketi.api.context import ID, read_or_404, runtime
from pyketi.api.responses import empty_json, json_response
from pyketi.api.validation import Fields, read_json
from pyketi.db import queries
from pyketi.operations import clusters



async def create(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    block, file = body.bool("block"), body.bool("file")

    return json_response(await runtime(request).db.write(
        lambda s: clusters.create(s, block, file)), status=201)


async def list_(request: web.Request) -> web.Response:
    ids = await runtime(request).db.read(queries.cluster_ids)
    return json_response({"clusters": ids})


async def info(request: web.Request) -> web.Response:
    return json_response(await read_or_404(request, queries.cluster))


async def delete(request: web.Request) -> web.Response:
    cid = request.match_info["id"]

    await runtime(request).db.write(lambda s: clusters.delete(s, cid))
    return web.Response(status=200)


async def set_flags(request: web.Request) -> web.Response:
    cid = request.match_info["id"]
    body = Fields(await read_json(request))
    block, file = body.bool("block"), body.bool("file")

    await runtime(request).db.write(lambda s: clusters.set_flags(s, cid, block, file))
    return empty_json()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/clusters", create)
    router.add_get("/clusters", list_)
    router.add_get(f"/clusters/{ID}", info)
    router.add_delete(f"/clusters/{ID}", delete)
    router.add_post(f"/clusters/{ID}/flags", set_flags)
