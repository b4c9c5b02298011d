"""``GET /queue/{id}``: the async protocol (heketi ``server/rest/asynchttp.go``).

A job submitted with the admin token is, to a user token, an unknown id (404
"Id not found", nothing consumed); admin reads every job.
"""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import ID, role, runtime
from pyketi.api.responses import text_error


async def poll(request: web.Request) -> web.Response:
    state = await runtime(request).runner.jobs.poll(request.match_info["id"], role(request))
    if state.status == "missing":
        return text_error(404, "Id not found")
    if state.status == "pending":
        return web.Response(status=200, headers={"X-Pending": "true"})
    if state.status == "failed":
        return text_error(500, state.error)
    if state.location:
        body = f'<a href="{state.location}">See Other</a>.\n\n'
        return web.Response(status=303, body=body.encode(), headers={
            "Location": state.location, "Content-Type": "text/html; charset=utf-8"})
    return web.Response(status=204)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/queue/{ID}", poll)
