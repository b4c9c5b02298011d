"""``GET /topology``: a pyketi extension, heketi has no such route.

The whole topology in the shape of heketi's ``topology info``
(``{"clusters": [{"volumes": [...], "nodes": [...], "id", "block", "file"}]}``),
which heketi's client composes from one request per cluster, node and volume
(``client/api/go-client/topology.go``): 10,000 volumes were 10,000 requests.
pyketi's client and pyketi-cli ask this route first and compose as heketi's client
does when the server answers 404 (heketi, an older pyketi).
"""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.api.responses import chunked_json
from pyketi.db import topology


PATHS = frozenset({"/topology"})


async def info(request: web.Request) -> web.Response:
    return chunked_json(await runtime(request).db.read_bulk(topology.chunks))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/topology", info)
