"""Node routes (heketi ``app_node.go``)."""

from __future__ import annotations

from aiohttp import web
from pyketi.api.context import ID, read_or_404, runtime
from pyketi.api.responses import accepted, json_response
from pyketi.api.tags import tags_handler
from pyketi.api.validation import (Errors, Fields, check_id, check_tags, go_list, is_host,
                                   read_json)
from pyketi.db import queries
from pyketi.db.models import Node
from pyketi.operations import node_add, node_delete, node_state

STATES = ("online", "offline", "failed")


async def add(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    zone = body.int("zone")
    hostnames = body.obj("hostnames")
    manage, storage = hostnames.str_list("manage"), hostnames.str_list("storage")
    cluster = body.str("cluster")
    tags = body.str_map("tags")
    errors = Errors()
    if zone < 1:
        errors.add("zone", "cannot be blank" if zone == 0 else "must be no less than 1")
    hosts = Errors()
    for kind, names in (("manage", manage), ("storage", storage)):
        if not names:
            hosts.add(kind, "cannot be blank")
        elif not all(is_host(h) for h in names):
            hosts.add(kind, f"{go_list(names)} is not a valid {kind} hostname")
    errors.add("hostnames", hosts)
    check_id(errors, "cluster", cluster)
    check_tags(errors, tags)
    errors.raise_if_any()
    job = await node_add.add(runtime(request),
                            node_add.NodeAdd(zone, cluster, manage, storage, tags))
    return accepted(job)


async def info(request: web.Request) -> web.Response:
    return json_response(await read_or_404(request, queries.node))


async def delete(request: web.Request) -> web.Response:
    return accepted(await node_delete.delete(runtime(request), request.match_info["id"]))


async def parse_state(request: web.Request) -> tuple[str, str]:
    body = Fields(await read_json(request))
    state, heal = body.str("state"), body.str("healcheck")
    errors = Errors()
    if not state:
        errors.add("state", "cannot be blank")
    elif state not in STATES:
        errors.add("state", f"{state} is not valid state")
    if heal not in ("", "enable", "disable"):
        errors.add("healcheck", f"{heal} is not valid heal info check")
    errors.raise_if_any()
    return state, heal


async def set_state(request: web.Request) -> web.Response:
    state, heal = await parse_state(request)
    return accepted(await node_state.set_state(runtime(request), request.match_info["id"],
                                          state, heal))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/nodes", add)
    router.add_get(f"/nodes/{ID}", info)
    router.add_delete(f"/nodes/{ID}", delete)
    router.add_post(f"/nodes/{ID}/state", set_state)
    router.add_post(f"/nodes/{ID}/tags", tags_handler(Node))



