"""Device remove (state ``failed``): move every brick to another device.

One ``evict-brick`` operation per brick: create the replacement brick, ``volume
replace-brick ... commit force``, then destroy the old brick *best effort* — a
dead disk or node must not block its own removal (heketi#733, #1204).  The
replacement device is the one with the most free space among devices that
keep the brick set on distinct nodes (and distinct zones when zone checking is
strict), so the choice is explainable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Volume
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound
from pyketi.ids import new_id
from pyketi.node_paths import brick_path
from pyketi.operations import engine, placement_db
from pyketi.operations.common import cluster_nodes
from pyketi.operations.engine import KindDef
from pyketi.operations.executor_requests import bricks_by_host
from pyketi.operations.record import Record
from pyketi.operations.steps import Step, bricks
from pyketi.placement import parse_volume_options, space_needed

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime



class NoReplacement(Exception):
    pass


@dataclass
class EvictData(Record):
    old: str            # brick moved away
    new: str            # its replacement
    volume_id: str


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
                path=brick_path(new_device, new_bid), size=brick.size,
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
        Step("bricks_create", bricks_by_host([new], nodes, volume.gid)),
        Step("brick_replace", bricks.BrickReplace(
            host=(online[0] if online else new_node_row).manage, volume=volume.name,
            old=(old_node.storage, brick.path), new=(new_node_row.storage, new.path),
            hosts=[n.manage for n in online[1:]])),
        Step("bricks_destroy_quietly", bricks_by_host([brick], nodes, volume.gid)),
    ]
    engine.new_operation(s, op_id, "evict-brick", rt.runner.instance_id, steps,
                         [{"id": brick_id, "description": "Delete brick"},
                          {"id": new_bid, "description": "Add brick"}],
                         EvictData(brick_id, new_bid, volume.id))
    return op_id


def _finalize(s: Session, _op_id: str, data: EvictData, _results: dict) -> None:
    old = s.get(Brick, data.old)
    if old is not None:
        placement_db.release_bricks(s, [old])
    s.get(Brick, data.new).pending_op = None
    s.get(Volume, data.volume_id).busy_op = None


def _rollback(s: Session, _op_id: str, data: EvictData, _results: dict) -> None:
    new = s.get(Brick, data.new)
    if new is not None:
        placement_db.release_bricks(s, [new])
    volume = s.get(Volume, data.volume_id)
    if volume is not None:
        volume.busy_op = None


KIND = KindDef("evict-brick", "rollback", EvictData, _finalize, _rollback)


def build_evict_brick(s: Session, rt: "Runtime", brick_id: str, op_id: str) -> str:
    """``POST /bricks/to-evict/{id}``: one brick moved (heketi ``BrickEvict``)."""
    brick = s.get(Brick, brick_id)
    if brick is None or brick.pending_op is not None:
        raise NotFound()
    try:
        return build_evict(s, rt, brick.device_id, brick_id, None, op_id)
    except NoReplacement:
        raise Conflict("No Replacement was found for resource requested to be removed") from None


async def evict_brick(rt: "Runtime", brick_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_evict_brick(s, rt, brick_id, op_id))


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
            op_id = await rt.runner.record(lambda s, op, b=brick_id: build_evict(
                s, rt, device_id, b, node_id if node_removal else None, op))
        except NoReplacement:
            if node_removal:
                raise engine.OperationFailed(
                    f"Unable to remove node [{node_id}] as no device was found to replace "
                    f"device [{device_id}]") from None
            raise engine.OperationFailed(
                f"Unable to delete device [{device_id}] as no device was found to replace it: "
                "No Replacement was found for resource requested to be removed") from None
        await rt.runner.execute(op_id)

    def mark_failed(s: Session) -> None:
        lock_row(s, Device, device_id).state = "failed"
    await rt.db.write(mark_failed)



