"""Application keys shared by the HTTP handlers."""

from typing import Any, Callable

from aiohttp import web
from sqlalchemy.orm import Session

from pyketi.errors import NotFound
from pyketi.ids import HEX_RE
from pyketi.operations.runtime import Runtime

ID = "{id:" + HEX_RE + "}"  # the id part of a route

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
# the requester's role, set by the auth middleware (RequestKey exists from aiohttp 3.14)
ROLE = web.RequestKey("role", str) if hasattr(web, "RequestKey") else "pyketi.role"


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


async def read_or_404(request: web.Request,
                      query: Callable[[Session, str], Any | None]) -> Any:
    """``query(session, <id of the route>)`` (a ``db.queries`` function); None is a 404."""
    obj_id = request.match_info["id"]
    found = await runtime(request).db.read(lambda s: query(s, obj_id))
    if found is None:
        raise NotFound()
    return found


def role(request: web.Request) -> str:
    """The requester's JWT role (``admin``/``user``); admin when auth is disabled."""
    return request.get(ROLE, "admin")
