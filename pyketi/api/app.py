"""The aiohttp application: middleware chain and routes (heketi ``main.go`` order).

Open routes: ``/hello``, ``/metrics`` (needs the admin token with
``metrics_require_admin``), ``/healthz``, ``/readyz``, ``/openapi.json``.  Everything else: error
shaping → JWT (before routing, so even unknown paths need a token) → role check →
admin-state (maintenance) → heketi router.
"""

from __future__ import annotations

import asyncio
import html
import logging
import string
from urllib.parse import quote

from aiohttp import web

from pyketi.api import (admin, bricks, clusters, context, dbroutes, devices, internal,
                        metrics, nodes, operations, queue, topology, volumes)
from pyketi.api import access, audit, health, openapi
from pyketi.api.auth import Authenticator
from pyketi.api.responses import text_error
from pyketi import logcontext
from pyketi.errors import ApiError
from pyketi.operations.jobs import REQUEST_ROLE
from pyketi.operations.runtime import Runtime

log = logging.getLogger("pyketi.api")
OPEN_PATHS = {"/hello", "/metrics"} | health.PATHS | openapi.PATHS
# pyketi's own routes that heketi has not: another method answers as heketi does for a
# path it does not know (404), not as for a known path (405)
NOT_HEKETIS = topology.PATHS
_QUERY_SAFE = "".join(c for c in string.punctuation if c not in "\"<>\\^`{|}")


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as e:
        return text_error(e.status, e.message)
    except web.HTTPMethodNotAllowed:
        if request.path in NOT_HEKETIS:
            return text_error(404, "Invalid path or request")
        return web.Response(status=405)
    except web.HTTPNotFound:
        return text_error(404, "Invalid path or request")
    except web.HTTPException:
        raise
    except Exception:  # noqa: BLE001 - never a traceback to the client
        log.exception("internal error on %s %s", request.method, request.path)
        return text_error(500, "Internal server error")


@web.middleware
async def body_deadline_middleware(request: web.Request, handler):
    """A request body must arrive within ``header_timeout_seconds`` of its headers: a
    slow-body client would otherwise hold its connection forever.  The handler runs (and
    reads the body) as usual; if the body is still incomplete at the deadline, the handler
    is cancelled and the client gets 408 on a closed connection."""
    if not request.can_read_body or request.content.is_eof():
        return await handler(request)
    work = asyncio.ensure_future(handler(request))
    body = asyncio.ensure_future(request.content.wait_eof())
    try:
        await asyncio.wait({work, body}, return_when=asyncio.FIRST_COMPLETED,
                           timeout=context.runtime(request).config.header_timeout_seconds)
        if work.done() or body.done():
            return await work
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
    finally:
        body.cancel()
        if not work.done():  # we were cancelled ourselves
            work.cancel()
    response = text_error(408, "Request body not received in time")
    response.force_close()
    return response


def auth_middleware(authenticator: Authenticator):
    @web.middleware
    async def middleware(request: web.Request, handler):
        if request.path in OPEN_PATHS and not metrics_closed(request):
            return await handler(request)
        claims = authenticator.claims(request.method, request.path,
                                      request.headers.get("Authorization"))
        role = claims["iss"]
        authenticator.authorize(role, request.method, request.path)
        request[context.ROLE] = role  # read through context.role(request)
        request[audit.SUBJECT] = audit.claims_subject(claims)
        token = REQUEST_ROLE.set(role)  # the role a job submitted by this request records
        try:
            return await handler(request)
        finally:
            REQUEST_ROLE.reset(token)
    return middleware


@web.middleware
async def admin_state_middleware(request: web.Request, handler):
    if request.path not in OPEN_PATHS and request.method not in ("GET", "HEAD"):
        if context.runtime(request).runner.draining:
            return text_error(503, "Server shutting down")
        state = context.runtime(request).admin_state
        local = request.remote in ("127.0.0.1", "::1")
        if state == "read-only" or (state == "local-client" and not local):
            return text_error(503, "Service disabled for maintenance")
    return await handler(request)


@web.middleware
async def strict_slash_middleware(request: web.Request, handler):
    """gorilla/mux StrictSlash(true): ``/volumes/`` → 301 ``/volumes`` (query kept) when
    that route takes this method; 405 when it only takes others; else no route (404).
    Like Go's ``http.Redirect``, a GET gets a small HTML body."""
    path = request.path
    if len(path) > 1 and path.endswith("/"):
        target = path.rstrip("/") or "/"
        match = await request.app.router.resolve(request.clone(rel_url=target))
        if isinstance(match.http_exception, web.HTTPMethodNotAllowed):
            if target in NOT_HEKETIS:
                return text_error(404, "Invalid path or request")
            return web.Response(status=405)
        if match.http_exception is None:
            # the raw query (the decoded one may hold CR/LF: a header injection), and
            # anything but printable ASCII percent-encoded
            query = quote(request.rel_url.raw_query_string, safe=_QUERY_SAFE,
                          errors="surrogateescape")
            location = target + (f"?{query}" if query else "")
            if request.method != "GET":
                return web.Response(status=301, headers={"Location": location})
            body = f'<a href="{html.escape(location)}">Moved Permanently</a>.\n\n'
            return web.Response(status=301, body=body.encode(), headers={
                "Location": location, "Content-Type": "text/html; charset=utf-8"})
    return await handler(request)


def metrics_closed(request: web.Request) -> bool:
    """heketi serves /metrics to anyone; ``metrics_require_admin`` puts it behind the
    admin token like every other admin route."""
    return request.path == "/metrics" and context.runtime(request).config.metrics_require_admin


async def hello(_request: web.Request) -> web.Response:
    return web.Response(body=b"Hello from Heketi",
                        headers={"Content-Type": "text/plain; charset=UTF-8"})


def build_app(rt: Runtime) -> web.Application:
    logcontext.install()
    middlewares = [access.access_middleware, audit.audit_middleware, errors_middleware,
                   body_deadline_middleware]
    if rt.config.auth:
        middlewares.append(auth_middleware(Authenticator(
            rt.config.admin_key, rt.config.user_key, rt.config.jwt_iat_leeway,
            rt.config.jwt_max_token_lifetime)))
    middlewares += [admin_state_middleware, strict_slash_middleware, queue.settle_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=1024 * 1024)
    app[context.RUNTIME] = rt
    if internal.LOGGER.level == logging.NOTSET:
        internal.LOGGER.setLevel(logging.INFO)  # heketi's logger starts at info
    app[metrics.REGISTRY] = metrics.make_registry(rt)
    metrics.observe(app, rt, app[metrics.REGISTRY])
    app.router.add_get("/hello", hello)
    health.add_routes(app.router)
    openapi.add_routes(app.router)
    for module in (metrics, queue, clusters, nodes, devices, volumes, bricks, dbroutes,
                   operations, internal, admin, topology):
        module.add_routes(app.router)
    audit.setup(app, rt)
    return app
