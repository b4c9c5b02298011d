"""Volume create: build (placement + pending rows, one transaction), then bricks
and the gluster volume on the nodes; on failure undo and retry with a fresh
placement (heketi ``VOLUME_MAX_RETRIES``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Gid, Job, Operation, Volume, now
from pyketi.errors import ApiError, BadRequest, ServerError
from pyketi.ids import new_id
from pyketi.operations import engine, placement_db
from pyketi.operations.engine import KindDef, OperationFailed
from pyketi.operations.steps import bricks_by_host, volume_request
from pyketi.placement import Durability, PlacementError, VolumeSpec, place_volume
from pyketi.placement import parse_volume_options

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

log = logging.getLogger("pyketi.volumes")
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
    if limit >= 0:
        count = sql.volume_count(conn, cluster.id)
        if count >= limit:
            return f"Cluster has {count} volumes and limit is {limit}"
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


def build(s: Session, rt: "Runtime", req: VolumeCreate, volume_id: str, op_id: str,
          auto_gid: bool = False) -> str:
    """Place the volume and record everything as pending. Returns the op id."""
    name = req.name or f"vol_{volume_id}"
    conn = s.connection()  # the hot path: Core statements (db/statements.py), no ORM
    cluster_ids = req.clusters or list(conn.execute(sql.CLUSTER_IDS).scalars())
    if not cluster_ids:
        raise BadRequest("No clusters configured")
    options = stored_options(rt, req)
    errors: list[tuple[str, str]] = []
    for cid in cluster_ids:
        cluster = sql.cluster_row(conn, cid)
        if cluster is None:
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
        bricks = placement_db.insert_placement(s, placement, volume_id, op_id)
        first_host = nodes[placement.sets[0][0].node_id].manage
        hosts = [first_host] + sorted(n.manage for n in nodes.values() if n.manage != first_host)
        steps = [
            {"name": "bricks_create", "args": {"hosts": bricks_by_host(bricks, nodes, gid)}},
            {"name": "volume_create", "args": {
                "hosts": hosts, "name": name, "volume": volume_request(volume, bricks, nodes)}},
        ]
        changes = [{"id": b.id, "description": "Add brick"} for b in bricks]
        changes.append({"id": volume_id, "description": "Add volume"})
        engine.new_operation(s, op_id, "create-volume", rt.instance_id, steps, changes,
                             {"volume_id": volume_id})
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
    free = req.size * 98 // 100
    return {"freesize": free, "reservedsize": req.size - free}


# -- end of the operation in the database -----------------------------------

def finalize(s: Session, op: Operation, _results: dict) -> str:
    volume_id = op.spec["data"]["volume_id"]
    conn = s.connection()
    sql.mark_volume(conn, volume_id, pending=None, busy=None)
    sql.mark_bricks(conn, volume_id, None)
    return volume_id


def rollback(s: Session, op: Operation, _results: dict) -> None:
    volume_id = op.spec["data"]["volume_id"]
    conn = s.connection()
    placement_db.release_space(s, sql.volume_bricks(conn, volume_id))
    sql.delete_volume(conn, volume_id)


engine.kind("create-volume", KindDef("create-volume", "rollback", finalize, rollback))


async def create(rt: "Runtime", req: VolumeCreate, auto_gid: bool = False) -> str:
    """Synchronous part of POST /volumes: returns the job id (202)."""
    volume_id = new_id()

    def first_build(s: Session, _job_id: str) -> str:
        return build(s, rt, req, volume_id, new_id(), auto_gid)

    async def work(op_id: str | None) -> str:
        attempts = 1 + max(0, rt.config.volume_create_retries)
        for attempt in range(1, attempts + 1):
            try:
                await engine.execute(rt, op_id, f"/volumes/{volume_id}")
                return f"/volumes/{volume_id}"
            except OperationFailed as e:
                if attempt == attempts or isinstance(e, engine.CleanupPending):
                    raise  # CleanupPending: the volume's rows wait for the cleaner
                log.warning("volume %s create attempt %d failed (%s); retrying with a new "
                            "placement", volume_id, attempt, e)
                old_op, next_op = op_id, new_id()

                def rebuild(s: Session) -> str:
                    built = build(s, rt, req, volume_id, next_op, auto_gid)
                    s.execute(update(Job).where(Job.operation_id == old_op)
                              .values(operation_id=built))
                    return built
                try:
                    op_id = await rt.db.write(rebuild)
                except ApiError as again:
                    raise OperationFailed(f"{e} (retry: {again.message})") from again
        raise AssertionError("unreachable")

    return await rt.submit(first_build, work)
