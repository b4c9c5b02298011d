"""``/admin``: maintenance state (heketi ``server/admin/http.go``)."""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.api.validation import PARSE_ERROR, Fields, read_json
from pyketi.errors import BadRequest, Unprocessable

STATES = ("normal", "read-only", "local-client")


async def get_state(request: web.Request) -> web.Response:
    return json_response({"state": runtime(request).admin_state})


async def set_state(request: web.Request) -> web.Response:
    data = await read_json(request, error_status=400)
    try:
        state = Fields(data).str("state")
    except Unprocessable:  # heketi: any json.Unmarshal error here is a 400
        raise BadRequest(f"{PARSE_ERROR}: invalid JSON body") from None
    if state not in STATES:
        raise BadRequest("validation failed: state: "
                         + ("cannot be blank." if not state else "must be a valid value."))
    runtime(request).admin_state = state
    return web.Response(status=204)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", get_state)
    router.add_post("/admin", set_state)
