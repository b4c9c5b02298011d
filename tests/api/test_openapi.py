"""The OpenAPI document: a valid OpenAPI 3.1 document, served open at /openapi.json,
listing exactly the routes the server answers (no more, no fewer)."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from pyketi.api.openapi import DOCUMENT

METHODS = {"get", "post", "put", "delete", "patch"}


def test_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)


def routes_of(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD to every GET
            continue
        info = route.resource.get_info()
        path = info.get("path") or info["formatter"]
        out.add((route.method.lower(), path))
    return out


def documented() -> set[tuple[str, str]]:
    return {(method, path) for path, ops in DOCUMENT["paths"].items()
            for method in ops if method in METHODS}


async def test_every_route_is_documented_and_every_documented_route_exists(api):
    routes = routes_of(api.client.app)
    assert routes - documented() == set(), "routes missing from the OpenAPI document"
    assert documented() - routes == set(), "documented routes the server does not have"


async def test_served_without_a_token(api):
    assert (await api.get("/clusters", auth=False)).status == 401
    r = await api.get("/openapi.json", auth=False)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert json.loads(r.text) == json.loads(json.dumps(DOCUMENT))


def test_async_routes_document_the_queue_location():
    """Every 202 names its Location header; the queue documents 200/204/303/404/500."""
    for path, ops in DOCUMENT["paths"].items():
        for method, op in ops.items():
            if "202" in op["responses"]:
                assert op["responses"]["202"]["headers"]["Location"]["required"], (method, path)
    queue = DOCUMENT["paths"]["/queue/{id}"]["get"]["responses"]
    assert set(queue) >= {"200", "204", "303", "404", "500"}
    assert queue["200"]["headers"]["X-Pending"]["required"]
