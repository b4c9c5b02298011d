"""Device routes (heketi ``app_device.go``)."""

from __future__ import annotations

from aiohttp import web
from pyketi.api.context import ID, read_or_404, runtime
from pyketi.api.nodes import parse_state
from pyketi.api.responses import accepted, json_response
from pyketi.api.tags import tags_handler
from pyketi.api.validation import DEVICE_RE, Errors, Fields, check_id, check_tags, read_json
from pyketi.db import queries
from pyketi.db.models import Device
from pyketi.executors.validate import device_path_problem
from pyketi.operations import device_add, device_delete, device_resync, device_state


async def add(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    name, node = body.str("name"), body.str("node")
    tags = body.str_map("tags")
    destroy = body.bool("destroydata")
    errors = Errors()
    if not name:
        errors.add("name", "cannot be blank")
    elif len(name) > 1024 or not DEVICE_RE.match(name):
        errors.add("name", "must be in a valid format")
    elif problem := device_path_problem(name):
        errors.add("name", problem)
    check_id(errors, "node", node)
    check_tags(errors, tags)
    errors.raise_if_any()
    return accepted(await device_add.add(runtime(request), node, name, tags, destroy))


async def info(request: web.Request) -> web.Response:
    return json_response(await read_or_404(request, queries.device))


async def delete(request: web.Request) -> web.Response:
    force = False
    if request.content_length:
        force = Fields(await read_json(request)).bool("forceforget")
    return accepted(await device_delete.delete(runtime(request), request.match_info["id"], force))


async def set_state(request: web.Request) -> web.Response:
    state, heal = await parse_state(request)
    return accepted(await device_state.set_state(runtime(request), request.match_info["id"],
                                            state, heal))


async def resync(request: web.Request) -> web.Response:
    return accepted(await device_resync.resync(runtime(request), request.match_info["id"]),
                    html=True)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/devices", add)
    router.add_get(f"/devices/{ID}", info)
    router.add_delete(f"/devices/{ID}", delete)
    router.add_post(f"/devices/{ID}/state", set_state)
    router.add_get(f"/devices/{ID}/resync", resync)
    router.add_post(f"/devices/{ID}/tags", tags_handler(Device))
