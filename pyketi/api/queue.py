"""``GET /queue/{id}``: the async protocol (heketi ``server/rest/asynchttp.go``).

A job submitted with the admin token is, to a user token, an unknown id (404
"Id not found", nothing consumed); admin reads every job.

``settle_middleware``: a ``202`` is sent once its job has ended, or after
``SETTLE_SECONDS`` at most.  heketi's clients poll at once after the 202 and then
every 10 ms: a job that takes a few milliseconds (the mock executor, a refused
placement found late) is then found finished by the first poll instead of costing
the client a 10 ms sleep and a second poll.  The reply stays a 202 + queue
location, so the protocol is unchanged; a long operation (real nodes) only has its
202 delayed by ``SETTLE_SECONDS``.
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


SETTLE_SECONDS = 0.05
QUEUE_PREFIX = "/queue/"


@web.middleware
async def settle_middleware(request: web.Request, handler):
    response = await handler(request)
    if response.status == 202:
        location = response.headers.get("Location", "")
        if location.startswith(QUEUE_PREFIX):
            await runtime(request).runner.jobs.settle(location[len(QUEUE_PREFIX):], SETTLE_SECONDS)
    return response


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/queue/{ID}", poll)
