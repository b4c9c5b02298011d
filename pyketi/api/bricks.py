"""``POST /bricks/to-evict/{id}``: move one brick to another device (heketi ``BrickEvict``)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from pyketi.api.context import runtime
from pyketi.api.nodes import ID
from pyketi.api.responses import accepted
from pyketi.api.validation import Fields, read_json
from pyketi.db.models import Brick
from pyketi.errors import BadRequest, Conflict, NotFound
from pyketi.operations import device_remove


async def evict(request: web.Request) -> web.Response:
    rt = runtime(request)
    brick_id = request.match_info["id"]
    if request.content_length:
        heal = Fields(await read_json(request)).str("healcheck")
        if heal not in ("", "enable", "disable"):
            raise BadRequest("validation failed: healcheck: must be a valid value.")

    def build(s: Session, op_id: str) -> str:
        brick = s.get(Brick, brick_id)
        if brick is None or brick.pending_op is not None:
            raise NotFound()
        try:
            return device_remove.build_evict(s, rt, brick.device_id, brick_id, None, op_id)
        except device_remove.NoReplacement:
            raise Conflict("No Replacement was found for resource requested to be "
                           "removed") from None

    return accepted(await rt.runner.submit(build))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(f"/bricks/to-evict/{ID}", evict)
