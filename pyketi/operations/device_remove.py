"""Device remove (state ``failed``): move every brick to another device.

One ``evict-brick`` operation per brick: create the replacement brick, ``volume
replace-brick ... commit force``, then destroy the old brick *best effort* — a
dead disk or node must not block its own removal (heketi#733, #1204).  The
replacement device is the one with the most free space among devices that
keep the brick set on distinct nodes (and distinct zones when zone checking is
strict), so the choice is explainable.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Operation, Volume
from pyketi.db.session import lock_row
from pyketi.errors import Conflict
from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.ids import new_id
from pyketi.operations import engine, placement_db
from pyketi.operations.common import cluster_nodes
from pyketi.operations.engine import KindDef, step
from pyketi.operations.steps import bricks_by_host
from pyketi.placement import parse_volume_options, space_needed

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


log = logging.getLogger("pyketi.operations")


class NoReplacement(Exception):
    pass


# -- steps --------------------------------------------------------------------

async def _in_volume(rt: "Runtime", args: dict, brick: list[str]) -> bool | None:
    """Whether gluster lists ``brick`` in the volume (None: no node answered).

    A replace-brick whose old brick sits on a dead node may report an error or
    time out and still have happened: gluster is asked, not the exit status."""
    for host in [args["host"], *args.get("hosts", [])]:
        try:
            info = await rt.executor.volume_info(host, args["volume"])
        except ExecutorError:
            continue
        return f"{brick[0]}:{brick[1]}" in {b.name for b in info.bricks}
    return None


async def _replace(rt: "Runtime", args: dict) -> None:
    try:
        await rt.executor.brick_replace(args["host"], args["volume"], tuple(args["old"]),
                                        tuple(args["new"]))
    except ExecutorError as e:
        if await _in_volume(rt, args, args["new"]):
            log.warning("replace-brick on %s reported %s, but gluster lists the new brick "
                        "%s:%s: done", args["volume"], e, *args["new"])
            return
        raise


async def _replace_back(rt: "Runtime", args: dict) -> None:
    if await _in_volume(rt, args, args["new"]) is False:
        return  # the forward replace never happened
    try:
        await rt.executor.brick_replace(args["host"], args["volume"], tuple(args["new"]),
                                        tuple(args["old"]))
    except ExecutorError as e:
        log.warning("replace-brick back on %s failed: %s", args["volume"], e)


async def _destroy_quietly(rt: "Runtime", args: dict) -> None:
    for host, bricks in args["hosts"].items():
        try:
            await rt.executor.bricks_destroy(host, [BrickRequest(**b) for b in bricks])
        except ExecutorError:
            pass  # dead disk or node: the brick is gone from the volume already


step("brick_replace", undo=_replace_back)(_replace)
step("bricks_destroy_quietly")(_destroy_quietly)


# -- build --------------------------------------------------------------------

def _replacement(s: Session, rt: "Runtime", brick: Brick, volume: Volume,
                 exclude_node: str | None) -> tuple[str, str, tuple[int, int, int]]:
    siblings = s.execute(select(Brick).where(Brick.volume_id == volume.id,
                                             Brick.set_index == brick.set_index,
                                             Brick.id != brick.id)).scalars().all()
    nodes = cluster_nodes(s, volume.cluster_id)
    busy_nodes = {b.node_id for b in siblings} | {brick.node_id}
    if exclude_node:
        busy_nodes.add(exclude_node)
    parsed = parse_volume_options(volume.options)
    strict = (parsed.zone_checking or rt.config.zone_checking) == "strict"
    busy_zones = {nodes[b.node_id].zone for b in siblings}
    factor = volume.snapshot_factor if volume.snapshot_enable else 1.0
    candidates, _, _ = placement_db.candidates(s, volume.cluster_id)
    best = None
    for c in candidates:
        if c.id == brick.device_id or c.node_id in busy_nodes:
            continue
        if strict and c.zone in busy_zones:
            continue
        need = space_needed(brick.size, factor, c.extent_kib)
        if c.free_kib > need[2] and (best is None or c.free_kib > best[0].free_kib):
            best = (c, need)
    if best is None:
        raise NoReplacement()
    return best[0].id, best[0].node_id, best[1]


def build_evict(s: Session, rt: "Runtime", device_id: str, brick_id: str,
                exclude_node: str | None, op_id: str) -> str:
    brick = s.get(Brick, brick_id)
    placement_db.lock_clusters_of(s, [brick])
    volume = lock_row(s, Volume, brick.volume_id)
    if volume.busy_op is not None or volume.pending_op is not None:
        raise Conflict(f"Volume {volume.id} is busy with another operation; retry later")
    if (volume.durability or {}).get("type", "none") in ("none", ""):
        raise Conflict("replace brick is not supported for volume durability type none")
    new_device, new_node, (tp, meta, total) = _replacement(s, rt, brick, volume, exclude_node)
    volume.busy_op = op_id
    new_bid = new_id()
    new = Brick(id=new_bid, volume_id=volume.id, device_id=new_device, node_id=new_node,
                path=placement_db.brick_path(new_device, new_bid), size=brick.size,
                tp_size=tp, pool_metadata_size=meta, space=total,
                lvm_thin_pool=f"tp_{new_bid}", lvm_lv="", subtype=brick.subtype,
                set_index=brick.set_index, position=brick.position, pending_op=op_id)
    s.add(new)
    device = s.get(Device, new_device)
    device.free -= total
    device.used += total
    s.flush()
    nodes = cluster_nodes(s, volume.cluster_id)
    old_node, new_node_row = nodes[brick.node_id], nodes[new_node]
    online = [n for n in nodes.values() if n.state == "online" and n.id != brick.node_id]
    steps = [
        {"name": "bricks_create", "args": {"hosts": bricks_by_host([new], nodes, volume.gid)}},
        {"name": "brick_replace", "args": {
            "host": (online[0] if online else new_node_row).manage,
            "hosts": [n.manage for n in online[1:]], "volume": volume.name,
            "old": [old_node.storage, brick.path], "new": [new_node_row.storage, new.path]}},
        {"name": "bricks_destroy_quietly", "args": {
            "hosts": bricks_by_host([brick], nodes, volume.gid)}},
    ]
    engine.new_operation(s, op_id, "evict-brick", rt.instance_id, steps,
                         [{"id": brick_id, "description": "Delete brick"},
                          {"id": new_bid, "description": "Add brick"}],
                         {"old": brick_id, "new": new_bid, "volume_id": volume.id})
    return op_id


def _finalize(s: Session, op: Operation, _results: dict) -> None:
    data = op.spec["data"]
    old = s.get(Brick, data["old"])
    if old is not None:
        placement_db.release_bricks(s, [old])
    s.get(Brick, data["new"]).pending_op = None
    s.get(Volume, data["volume_id"]).busy_op = None


def _rollback(s: Session, op: Operation, _results: dict) -> None:
    data = op.spec["data"]
    new = s.get(Brick, data["new"])
    if new is not None:
        placement_db.release_bricks(s, [new])
    volume = s.get(Volume, data["volume_id"])
    if volume is not None:
        volume.busy_op = None


engine.kind("evict-brick", KindDef("evict-brick", "rollback", _finalize, _rollback))


async def remove_device(rt: "Runtime", device_id: str, healcheck: str = "",
                        node_removal: bool = False) -> None:
    """Evacuate all bricks of an offline device, then mark it failed."""

    def bricks_and_node(s: Session) -> tuple[list[str], str]:
        device = s.get(Device, device_id)
        ids = [b.id for b in s.execute(select(Brick).where(Brick.device_id == device_id,
                                                           Brick.pending_op.is_(None)))
               .scalars()]
        return ids, device.node_id

    brick_ids, node_id = await rt.db.read(bricks_and_node)
    for brick_id in brick_ids:
        try:
            op_id = await rt.db.write(lambda s, b=brick_id: build_evict(
                s, rt, device_id, b, node_id if node_removal else None, new_id()))
        except NoReplacement:
            if node_removal:
                raise engine.OperationFailed(
                    f"Unable to remove node [{node_id}] as no device was found to replace "
                    f"device [{device_id}]") from None
            raise engine.OperationFailed(
                f"Unable to delete device [{device_id}] as no device was found to replace it: "
                "No Replacement was found for resource requested to be removed") from None
        await engine.execute(rt, op_id)

    def mark_failed(s: Session) -> None:
        lock_row(s, Device, device_id).state = "failed"
    await rt.db.write(mark_failed)



