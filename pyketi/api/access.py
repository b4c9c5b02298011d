"""Access log and request ids (heketi writes one negroni line per request).

One line per request on the ``pyketi.access`` logger, at info::

    200 |  1.2ms | GET /volumes/<id> | role=admin remote=10.0.0.5 request_id=<id>

The path is logged as sent (percent-encoded, so a line break in it cannot forge a
log line) without its query string, and never a header: no token or query secret
reaches the log.  The request id is the client's ``X-Request-Id``
when sane, else a new one; it is returned in the ``X-Request-Id`` header of every
answer and set in ``logcontext.REQUEST_ID`` while the request is handled, so
every line written meanwhile (and by the operation it starts) carries it.
Each finished request is also handed to ``request_observers`` (latency metrics).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from aiohttp import web

from pyketi import logcontext
from pyketi.api import context
from pyketi.api.auth import go_duration

log = logging.getLogger("pyketi.access")

# observer(request, route pattern, status, seconds)
Observer = Callable[[web.Request, str, int, float], None]
OBSERVERS: web.AppKey[list[Observer]] = web.AppKey("request_observers", list)


def route_pattern(request: web.Request) -> str:
    """The matched route's pattern (``/volumes/{id}``): bounded label cardinality."""
    match = request.match_info
    route = getattr(match, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None or getattr(match, "http_exception", None) is not None:
        return "unmatched"
    return resource.canonical


def requester_role(request: web.Request) -> str:
    role = request.get(context.ROLE)
    if role:
        return role
    return "-" if context.runtime(request).config.auth else "admin"


@web.middleware
async def access_middleware(request: web.Request, handler):
    request_id = logcontext.request_id_from(request.headers.get(logcontext.HEADER))
    token = logcontext.REQUEST_ID.set(request_id)
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[logcontext.HEADER] = request_id
        return response
    except web.HTTPException as e:
        status = e.status
        e.headers[logcontext.HEADER] = request_id
        raise
    finally:
        seconds = time.monotonic() - started
        log.info("%d | %s | %s %s | role=%s remote=%s", status, go_duration(seconds),
                 request.method, request.rel_url.raw_path, requester_role(request),
                 request.remote)
        for observe in request.app.get(OBSERVERS, ()):
            try:
                observe(request, route_pattern(request), status, seconds)
            except Exception:  # noqa: BLE001 - an observer never breaks a request
                log.warning("request observer failed", exc_info=True)
        logcontext.REQUEST_ID.reset(token)
