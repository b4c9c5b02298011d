"""Volume create: build (placement + pending rows, one transaction), then bricks
and the gluster volume on the nodes; on failure undo and retry with a fresh
placement (heketi ``VOLUME_MAX_RETRIES``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db import queries
from pyketi.db import statements as sql
from pyketi.db.models import Gid, Volume, now
from pyketi.errors import BadRequest, ServerError
from pyketi.executors.validate import escape_controls
from pyketi.ids import new_id
from pyketi.operations import engine, placement_db
from pyketi.operations.block_restriction import block_sizes
from pyketi.operations.engine import KindDef
from pyketi.operations.executor_requests import bricks_by_host, volume_request
from pyketi.operations.record import VolumeRef
from pyketi.operations.steps import Step, volumes
from pyketi.placement import (Durability, PlacementError, VolumeSpec, min_volume_size_kib,
                              parse_volume_options, place_volume)
from pyketi.units import GIB_KIB

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

BLOCK_OPTIONS = "group gluster-block"


@dataclass
class VolumeCreate:
    size: int
    name: str = ""
    clusters: list[str] = field(default_factory=list)
    durability: dict = field(default_factory=dict)   # as echoed
    dtype: str = "none"
    replica: int = 0
    data: int = 0
    redundancy: int = 0
    gid: int = 0
    options: list[str] = field(default_factory=list)
    block: bool = False
    snapshot_enable: bool = False
    snapshot_factor: float = 1.0
    created_by: str = "admin"  # the requester's role (the user role changes only its own)


def stored_options(rt: "Runtime", req: VolumeCreate) -> list[str]:
    """pre + [block options] + request + post, with Go's ``strings.Split("", ",") == [""]``."""
    opts = rt.config.pre_request_volume_options.split(",")
    if req.block:
        opts.append(BLOCK_OPTIONS)
    opts += req.options
    opts += rt.config.post_request_volume_options.split(",")
    return opts


def placement_spec(rt: "Runtime", req: VolumeCreate, options: list[str],
                   size_gib: int | None = None, existing_bricks: int = 0) -> VolumeSpec:
    parsed = parse_volume_options(options)
    zone = parsed.zone_checking or rt.config.zone_checking
    return VolumeSpec(size_gib=size_gib if size_gib is not None else req.size,
                      durability=Durability(req.dtype, req.replica, req.data, req.redundancy),
                      snapshot_factor=req.snapshot_factor if req.snapshot_enable else 1.0,
                      arbiter=parsed.arbiter,
                      average_file_size_kib=parsed.average_file_size_kib
                      or rt.config.average_file_size_kb,
                      zone_strict=zone == "strict", tag_rule=parsed.tag_rule,
                      existing_bricks=existing_bricks)


def cluster_problem(s: Session, rt: "Runtime", cluster: Any, req: VolumeCreate,
                    name: str) -> str | None:
    """heketi's cluster eligibility filter (``volume_entry_allocate.go``)."""
    if not cluster.block and not cluster.file:
        return "Cluster has disabled all volume types"
    if (req.block and not cluster.block) or (not req.block and not cluster.file):
        return "Cluster does not support requested volume type"
    conn = s.connection()
    if sql.volume_name_used(conn, cluster.id, name):
        return f"Volume name '{name}' already in use"
    limit = rt.config.max_volumes_per_cluster
    if limit >= 0 and cluster.volume_count >= limit:
        return f"Cluster has {cluster.volume_count} volumes and limit is {limit}"
    return None


def _allocate_gid(s: Session, rt: "Runtime", volume_id: str) -> int:
    """Lowest gid of the configured range that no live volume uses.

    Explicit gids of other volumes count as taken too.  The ``gids`` primary
    key makes two concurrent builds (in different clusters, which do not lock
    each other) unable to hand out the same gid: the loser's insert fails in a
    savepoint and it takes the next free gid instead.
    """
    from sqlalchemy.exc import IntegrityError

    lo, hi = rt.config.gid_min, rt.config.gid_max
    lost: set[int] = set()
    while True:
        taken = set(s.execute(select(Gid.gid).where(Gid.gid >= lo, Gid.gid <= hi)).scalars())
        taken |= set(s.execute(select(Volume.gid).where(Volume.gid >= lo, Volume.gid <= hi))
                     .scalars())
        taken |= lost
        gid = next((g for g in range(lo, hi + 1) if g not in taken), None)
        if gid is None:
            raise ServerError("Failed to allocate new volume: no free gid left in the range "
                              f"{lo}-{hi}")
        try:
            with s.begin_nested():
                s.add(Gid(gid=gid, volume_id=volume_id))
                s.flush()
            return gid
        except IntegrityError:
            lost.add(gid)            # a concurrent build committed it first


def check_request(s: Session, rt: "Runtime", req: VolumeCreate) -> list[str]:
    """heketi's checks before placement, in its order: some cluster exists, every
    requested one exists, the size fits the smallest brick. Returns the clusters to try."""
    known = list(s.connection().execute(sql.CLUSTER_IDS).scalars())
    missing = queries.missing_cluster(s, req.clusters, known)
    if missing == "":
        raise BadRequest("No clusters configured")
    if missing is not None:
        raise BadRequest(f"Cluster id {escape_controls(missing)} not found")
    minimum = min_volume_size_kib(
        Durability(req.dtype, req.replica, req.data, req.redundancy), rt.limits)
    if req.size * GIB_KIB < minimum:
        raise BadRequest(f"Requested volume size ({req.size} GB) is smaller than the "
                         f"minimum supported volume size ({minimum})")
    return req.clusters or known


def build(s: Session, rt: "Runtime", req: VolumeCreate, volume_id: str, op_id: str,
          auto_gid: bool = False) -> str:
    """Place the volume and record everything as pending. Returns the op id."""
    name = req.name or f"vol_{volume_id}"
    conn = s.connection()  # the hot path: Core statements (db/statements.py), no ORM
    cluster_ids = check_request(s, rt, req)
    options = stored_options(rt, req)
    errors: list[tuple[str, str]] = []
    for cid in cluster_ids:
        cluster = sql.cluster_row(conn, cid)
        if cluster is None:  # deleted since check_request
            raise BadRequest(f"Cluster id {cid} not found")
        problem = cluster_problem(s, rt, cluster, req, name)
        if problem:
            errors.append((cid, problem))
            continue
        nodes = sql.cluster_nodes(conn, cid)
        devices, n_nodes, n_online = placement_db.candidates(s, cid, nodes)
        if n_nodes == 0:
            errors.append((cid, "No nodes in cluster"))
            continue
        if not devices:
            errors.append((cid, "No online storage devices in cluster"))
            continue
        try:
            placement = place_volume(devices, placement_spec(rt, req, options), rt.limits)
        except PlacementError as e:
            errors.append((cid, str(e)))
            continue
        gid = req.gid
        if auto_gid:
            gid = _allocate_gid(s, rt, volume_id)
        values = dict(id=volume_id, cluster_id=cid, name=name, size=req.size,
                      durability=req.durability, gid=gid, options=options, block=req.block,
                      blockinfo=_blockinfo(req), snapshot_enable=req.snapshot_enable,
                      snapshot_factor=req.snapshot_factor if req.snapshot_enable else 1.0,
                      request_clusters=req.clusters, pending_op=op_id, busy_op=op_id,
                      created_by=req.created_by, created_at=now())
        sql.insert_volume(conn, values)
        volume = Volume(**values)  # a read-only copy: the row is written
        new_bricks = placement_db.insert_placement(s, placement, volume_id, op_id)
        first_host = nodes[placement.sets[0][0].node_id].manage
        hosts = [first_host] + sorted(n.manage for n in nodes.values() if n.manage != first_host)
        steps = [
            Step("bricks_create", bricks_by_host(new_bricks, nodes, gid)),
            Step("volume_create", volumes.VolumeCreate(
                hosts, name, volume_request(volume, new_bricks, nodes))),
        ]
        changes = [{"id": b.id, "description": "Add brick"} for b in new_bricks]
        changes.append({"id": volume_id, "description": "Add volume"})
        engine.new_operation(s, op_id, "create-volume", rt.runner.instance_id, steps, changes,
                             VolumeRef(volume_id))
        return op_id
    raise ServerError("Failed to allocate new volume: " + allocation_error(errors))


def allocation_error(errors: list[tuple[str, str]]) -> str:
    """heketi ``multi_cluster_error.go``: one cluster → bare error, several → list."""
    if len(errors) == 1:
        return errors[0][1]
    lines = ["Unable to create volume on any cluster:"]
    lines += [f"Cluster {cid}: {err}" for cid, err in errors]
    return "\n".join(lines)


def _blockinfo(req: VolumeCreate) -> dict:
    if not req.block:
        return {}
    free, reserved = block_sizes(req.size)
    return {"freesize": free, "reservedsize": reserved}


# -- end of the operation in the database -----------------------------------

def finalize(s: Session, _op_id: str, data: VolumeRef, _results: dict) -> str:
    conn = s.connection()
    sql.mark_volume(conn, data.volume_id, pending=None, busy=None)
    sql.mark_bricks(conn, data.volume_id, None)
    return data.volume_id


def rollback(s: Session, _op_id: str, data: VolumeRef, _results: dict) -> None:
    conn = s.connection()
    placement_db.release_space(s, sql.volume_bricks(conn, data.volume_id))
    sql.delete_volume(conn, data.volume_id)


KIND = KindDef("create-volume", "rollback", VolumeRef, finalize, rollback)


async def create(rt: "Runtime", req: VolumeCreate, auto_gid: bool = False) -> str:
    """Synchronous part of POST /volumes: returns the job id (202). A failed create
    is undone and placed afresh (heketi ``VOLUME_MAX_RETRIES``)."""
    volume_id = new_id()
    return await rt.runner.submit(lambda s, op_id: build(s, rt, req, volume_id, op_id, auto_gid),
                                  f"/volumes/{volume_id}",
                                  retries=rt.config.volume_create_retries)
