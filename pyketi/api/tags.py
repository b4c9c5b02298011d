"""``POST /nodes/{id}/tags`` and ``/devices/{id}/tags`` (heketi ``TagsChangeRequest``)."""

from __future__ import annotations

from typing import Any, Callable

from aiohttp import web
from sqlalchemy.orm import Session

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.api.validation import Errors, Fields, check_tags, read_json
from pyketi.db.session import lock_row
from pyketi.errors import NotFound


def changed_tags(current: dict[str, str], change: str, tags: dict[str, str]) -> dict[str, str]:
    if change == "set":
        return dict(tags)
    if change == "update":
        return {**current, **tags}
    return {k: v for k, v in current.items() if k not in tags}


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

        def do(s: Session) -> dict:
            obj = lock_row(s, model, oid)
            if obj is None or obj.pending_op is not None:
                raise NotFound()
            obj.tags = changed_tags(dict(obj.tags or {}), change, tags)
            return obj.tags

        return json_response(await runtime(request).db.write(do))
    return handler
