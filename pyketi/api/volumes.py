"""Volume routes (heketi ``app_volume.go``)."""

from __future__ import annotations

from aiohttp import web

from pyketi.api.context import ID, read_or_404, role, runtime
from pyketi.api.responses import accepted, json_response
from pyketi.api.validation import NAME_RE, Errors, Fields, read_json
from pyketi.db import queries
from pyketi.errors import BadRequest, Unauthorized
from pyketi.executors import validate as V
from pyketi.executors.base import ExecutorError
from pyketi.executors.validate import CONTROL_RE
from pyketi.operations import (block_restriction, volume_clone, volume_create, volume_delete,
                               volume_expand)
from pyketi.placement import parse_volume_options

DISPERSE_OK = {(2, 1), (4, 2), (8, 3), (8, 4)}


def check_options(errors: Errors, options: list[str]) -> None:
    """Each entry is ``"<key> <value>"`` (stored verbatim, heketi compatible).

    Unlike heketi (``validation.Skip``), the entry must be one line without
    control characters, and neither the key nor the value may start with '-'
    (the gluster CLI would read it as its own ``--flag``): the same rule as
    ``executors.validate.parse_volume_option`` at the node end.
    """
    for entry in options:
        if CONTROL_RE.search(entry.replace("\t", " ")) or len(entry) > 4096:
            errors.add("glustervolumeoptions", "each option must be one line of at most "
                       "4096 characters without control characters")
            return
        try:
            V.parse_volume_option(entry)
        except ExecutorError as e:
            errors.add("glustervolumeoptions", str(e))
            return


def check_name(errors: Errors, name: str) -> None:
    """heketi's name rule, plus: no leading '-' and none of gluster's reserved words."""
    if name and (len(name) > 255 or not NAME_RE.match(name)):
        errors.add("name", "must be in a valid format")
    elif name:
        try:
            V.check_volume_name(name)
        except ExecutorError:
            errors.add("name", "must not start with '-' or be a name reserved by gluster")


def parse_create(data: object) -> volume_create.VolumeCreate:
    body = Fields(data)
    size = body.int("size")
    name = body.str("name")
    clusters = body.str_list("clusters")
    dur = body.obj("durability")
    dtype = dur.str("type")
    rep, disp = dur.obj("replicate"), dur.obj("disperse")
    replica = rep.int("replica")
    data_, redundancy = disp.int("data"), disp.int("redundancy")
    gid = body.int("gid")
    options = body.str_list("glustervolumeoptions")
    block = body.bool("block")
    snap = body.obj("snapshot")
    snap_enable, snap_factor = snap.bool("enable"), snap.float("factor")

    errors = Errors()
    if size == 0:
        errors.add("size", "cannot be blank")
    elif size < 1:
        errors.add("size", "must be no less than 1")
    check_name(errors, name)
    check_options(errors, options)
    errors.raise_if_any()

    dtype = dtype or "none"
    if dtype not in ("none", "replicate", "disperse"):
        raise BadRequest("Unknown durability type")
    if dtype == "replicate" and (replica > 3 or replica < 0):
        raise BadRequest("Invalid replica value")
    if dtype == "disperse" and (data_, redundancy) not in DISPERSE_OK:
        raise BadRequest(f"Invalid dispersion combination: {data_}+{redundancy}")
    if gid < 0:
        raise BadRequest("Bad group id less than zero")
    if gid >= 2**31 - 1:
        raise BadRequest("Bad group id equal or greater than 2**32")
    if snap_enable and not 1 <= snap_factor <= 100:
        raise BadRequest("Invalid snapshot factor")
    try:
        parsed = parse_volume_options(options)
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if parsed.arbiter and not (dtype == "replicate" and replica in (0, 3)):
        raise BadRequest("Arbiter volumes need durability replicate with replica 3")
    if parsed.arbiter and dtype == "replicate":
        replica = 3

    echoed = {"type": dtype, "replicate": _ints(dur.data.get("replicate")),
              "disperse": _ints(dur.data.get("disperse"))}
    return volume_create.VolumeCreate(
        size=size, name=name, clusters=clusters, durability=echoed, dtype=dtype,
        replica=replica, data=data_, redundancy=redundancy, gid=gid, options=options,
        block=block, snapshot_enable=snap_enable, snapshot_factor=snap_factor or 1.0)


def _ints(obj: object) -> dict:
    if not isinstance(obj, dict):
        return {}
    return {k: int(v) for k, v in obj.items() if isinstance(v, (int, float)) and v}


async def create(request: web.Request) -> web.Response:
    rt = runtime(request)
    req = parse_create(await read_json(request))
    req.created_by = role(request)
    auto_gid = rt.config.gid_allocation and req.gid == 0
    return accepted(await volume_create.create(rt, req, auto_gid=auto_gid))


async def list_(request: web.Request) -> web.Response:
    ids = await runtime(request).db.read_bulk(queries.volume_ids)
    return json_response({"volumes": ids})


async def info(request: web.Request) -> web.Response:
    return json_response(await read_or_404(request, queries.volume))


async def check_may_change(request: web.Request, volume_id: str) -> None:
    """The user role may change only the volumes it created; admin changes all.

    Refused with heketi's role-check answer (401 "Administrator access required"),
    which heketi's clients already handle; an unknown id is left to the route (404).
    """
    requester = role(request)
    if requester == "admin":
        return
    creator = await runtime(request).db.read(lambda s: queries.volume_creator(s, volume_id))
    if creator is not None and creator != requester:
        raise Unauthorized("Administrator access required")


async def delete(request: web.Request) -> web.Response:
    await check_may_change(request, request.match_info["id"])
    return accepted(await volume_delete.delete(runtime(request), request.match_info["id"]))


async def expand(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    size = body.int("expand_size")
    errors = Errors()
    if size == 0:
        errors.add("expand_size", "cannot be blank")
    elif size < 1:
        errors.add("expand_size", "must be no less than 1")
    errors.raise_if_any()
    await check_may_change(request, request.match_info["id"])
    return accepted(await volume_expand.expand(runtime(request), request.match_info["id"],
                                               size))


async def clone(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    name = body.str("name")
    errors = Errors()
    check_name(errors, name)
    errors.raise_if_any()
    await check_may_change(request, request.match_info["id"])
    return accepted(await volume_clone.clone(runtime(request), request.match_info["id"], name))


async def set_block_restriction(request: web.Request) -> web.Response:
    body = Fields(await read_json(request))
    restriction = body.str("restriction")
    if restriction not in ("", "locked"):
        raise BadRequest("validation failed: restriction: must be a valid value.")
    await check_may_change(request, request.match_info["id"])
    return accepted(await block_restriction.set_restriction(
        runtime(request), request.match_info["id"], restriction))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/volumes", create)
    router.add_get("/volumes", list_)
    router.add_get(f"/volumes/{ID}", info)
    router.add_delete(f"/volumes/{ID}", delete)
    router.add_post(f"/volumes/{ID}/expand", expand)
    router.add_post(f"/volumes/{ID}/clone", clone)
    router.add_post(f"/volumes/{ID}/block-restriction", set_block_restriction)
