"""Cluster routes (heketi ``app_cluster.go``): all synchronous."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.api.context import runtime
from pyketi.api.render import cluster_info
from pyketi.api.responses import empty_json, json_response
from pyketi.api.validation import Fields, read_json
from pyketi.db.models import Cluster, Node, Volume
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound
from pyketi.ids import new_id

ID = "{id:[A-Fa-f0-9]+}"


async def create(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    block, file = body.bool("block"), body.bool("file")

    def do(s: Session) -> dict:
        cluster = Cluster(id=new_id(), block=block, file=file)
        s.add(cluster)
        s.flush()
        return cluster_info(s, cluster)

    return json_response(await runtime(request).db.write(do), status=201)


async def list_(request: web.Request) -> web.Response:
    ids = await runtime(request).db.read(
        lambda s: list(s.execute(select(Cluster.id).order_by(Cluster.id)).scalars()))
    return json_response({"clusters": ids})


async def info(request: web.Request) -> web.Response:
    cid = request.match_info["id"]

    def do(s: Session) -> dict:
        cluster = s.get(Cluster, cid)
        if cluster is None:
            raise NotFound()
        return cluster_info(s, cluster)

    return json_response(await runtime(request).db.read(do))


async def delete(request: web.Request) -> web.Response:
    cid = request.match_info["id"]

    def do(s: Session) -> None:
        cluster = lock_row(s, Cluster, cid)
        if cluster is None:
            raise NotFound()
        busy = (s.execute(select(Node.id).where(Node.cluster_id == cid)).first()
                or s.execute(select(Volume.id).where(Volume.cluster_id == cid)).first())
        if busy:
            raise Conflict(f"Unable to delete cluster [{cid}] because it contains "
                           "volumes and/or nodes")
        s.delete(cluster)

    await runtime(request).db.write(do)
    return web.Response(status=200)


async def set_flags(request: web.Request) -> web.Response:
    cid = request.match_info["id"]
    body = Fields(await read_json(request))
    block, file = body.bool("block"), body.bool("file")

    def do(s: Session) -> None:
        cluster = lock_row(s, Cluster, cid)
        if cluster is None:
            raise NotFound()
        cluster.block, cluster.file = block, file

    await runtime(request).db.write(do)
    return empty_json()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/clusters", create)
    router.add_get("/clusters", list_)
    router.add_get(f"/clusters/{ID}", info)
    router.add_delete(f"/clusters/{ID}", delete)
    router.add_post(f"/clusters/{ID}/flags", set_flags)
