"""``/operations``: pending operations (heketi ``app_operations.go``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from pyketi.api.context import ID, runtime
from pyketi.api.responses import accepted, json_response
from pyketi.api.validation import Fields, read_json
from pyketi.db import queries
from pyketi.db.models import Operation
from pyketi.errors import BadRequest, NotFound
from pyketi.ids import is_valid_id
from pyketi.operations.registry import KINDS

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def _summary(op: Operation, rt: "Runtime") -> dict:
    kd = KINDS.get(op.type)
    out = {"id": op.id, "type_name": kd.type_name if kd else "unknown", "status": op.status,
           "sub_status": "in-flight" if op.id in rt.runner.running_ops else ""}
    # pyketi: how it is going - as this server knows it when it runs here, else as the
    # instance running it wrote it (a device/node removal)
    progress = rt.runner.progress(op.id) or op.progress
    if progress:
        out["progress"] = progress
    return out


async def info(request: web.Request) -> web.Response:
    rt = runtime(request)
    ops = await rt.db.read(queries.operations)
    return json_response({
        "total": len(ops), "in_flight": rt.runner.inflight,
        "stale": sum(1 for o in ops if o.status == "stale"),
        "failed": sum(1 for o in ops if o.status == "failed"),
        "new": sum(1 for o in ops if o.status == "")})


async def pending_list(request: web.Request) -> web.Response:
    rt = runtime(request)
    ops = await rt.db.read(queries.operations)
    return json_response({"pendingoperations": [_summary(o, rt) for o in ops]})


async def pending_details(request: web.Request) -> web.Response:
    rt = runtime(request)
    op_id = request.match_info["id"]

    op = await rt.db.read(lambda s: queries.operation(s, op_id))
    if op is None:
        raise NotFound(f"Id not found: {op_id}")
    out = _summary(op, rt)
    out["changes"] = list(op.changes)
    return json_response(out)


async def cleanup(request: web.Request) -> web.Response:
    rt = runtime(request)
    ids: list[str] | None = None
    if request.content_length:
        body = Fields(await read_json(request))
        ids = body.str_list("operations") or None
        if ids and (len(ids) > 32 or not all(is_valid_id(i) for i in ids)):
            raise BadRequest("validation failed: operations: must be at most 32 valid ids.")

    async def work() -> str:
        await rt.runner.clean_stale(only=ids)
        return ""

    return accepted(await rt.runner.start_job(work))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/operations", info)
    router.add_get("/operations/pending", pending_list)
    router.add_get(f"/operations/pending/{ID}", pending_details)
    router.add_post("/operations/pending/cleanup", cleanup)
