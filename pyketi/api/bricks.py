"""``POST /bricks/to-evict/{id}``: move one brick to another device (heketi ``BrickEvict``)."""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import ID, runtime
from pyketi.api.responses import accepted
from pyketi.api.validation import Fields, read_json
from pyketi.errors import BadRequest
from pyketi.operations import device_remove


async def evict(request: web.Request) -> web.Response:
    rt = runtime(request)
    brick_id = request.match_info["id"]
    heal = ""
    if request.content_length:
        heal = Fields(await read_json(request)).str("healcheck")
        if heal not in ("", "enable", "disable"):
            raise BadRequest("validation failed: healcheck: must be a valid value.")

    return accepted(await device_remove.evict_brick(rt, brick_id, heal))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(f"/bricks/to-evict/{ID}", evict)
