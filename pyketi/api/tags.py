"""``POST /nodes/{id}/tags`` and ``/devices/{id}/tags`` (heketi ``TagsChangeRequest``)."""

from __future__ import annotations

from typing import Any, Callable

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.api.validation import Errors, Fields, check_tags, read_json
from pyketi.operations.tags import change_tags


def tags_handler(model: Any) -> Callable:
    async def handler(request: web.Request) -> web.Response:
        oid = request.match_info["id"]
        body = Fields(await read_json(request))
        tags = body.str_map("tags")
        change = body.str("change_type")
        errors = Errors()
        if not change:
            errors.add("change_type", "cannot be blank")
        elif change not in ("set", "update", "delete"):
            errors.add("change_type", "must be a valid value")
        check_tags(errors, tags)
        errors.raise_if_any()

        return json_response(await runtime(request).db.write(
            lambda s: change_tags(s, model, oid, change, tags)))
    return handler
