"""Application keys shared by the HTTP handlers."""

from aiohttp import web

from pyketi.ids import HEX_RE
from pyketi.operations.runtime import Runtime

ID = "{id:" + HEX_RE + "}"  # the id part of a route

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
# the requester's role, set by the auth middleware (RequestKey exists from aiohttp 3.14)
ROLE = web.RequestKey("role", str) if hasattr(web, "RequestKey") else "pyketi.role"


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def role(request: web.Request) -> str:
    """The requester's JWT role (``admin``/``user``); admin when auth is disabled."""
    return request.get(ROLE, "admin")
