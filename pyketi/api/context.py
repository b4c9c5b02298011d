"""Application keys shared by the HTTP handlers."""

from aiohttp import web

from pyketi.operations.runtime import Runtime

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]
