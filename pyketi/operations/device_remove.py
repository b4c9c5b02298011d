"""Device remove (state ``failed``): move every brick to another device.

Before anything changes, every brick of the device (of every device, for a
node) must have a replacement that keeps its volume's durability
(``placement.replacement``), else the removal is refused with the reason.
Then one ``evict-brick`` operation per brick: ``gluster volume heal <vol>
info`` (unless ``healcheck: disable``: the old brick must not be the source of
data still to heal, enough other copies must be online; the heal state is shown
as the operation's progress), create the replacement brick, ``volume
replace-brick ... commit force``, then destroy the old brick *best effort* — a
dead disk or node must not block its own removal (heketi#733, #1204).  The
replacement device is the one with the most free space among devices that
keep the brick set on distinct nodes (and distinct zones when zone checking is
strict), so the choice is explainable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Operation, Volume
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
from pyketi.placement import parse_volume_options, replacement, space_needed
from pyketi.placement.replacement import NoReplacement

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

log = logging.getLogger("pyketi.operations")


@dataclass
class EvictData(Record):
    old: str            # brick moved away
    new: str            # its replacement
    volume_id: str


# -- build --------------------------------------------------------------------

def _copies(volume: Volume) -> tuple[int, int, str]:
    """(bricks per set, quorum of the heal check, words) of a volume's durability:
    heketi's ``QuorumBrickCount`` (replica < 3: 1, else replica/2+1; disperse: data)."""
    dur = volume.durability or {}
    if dur.get("type") == "replicate":
        replica = (dur.get("replicate") or {}).get("replica") or 1
        return replica, 1 if replica < 3 else replica // 2 + 1, f"replica {replica}"
    if dur.get("type") == "disperse":
        d = dur.get("disperse") or {}
        data, redundancy = d.get("data", 0), d.get("redundancy", 0)
        return data + redundancy, data, f"disperse {data}+{redundancy}"
    return 1, 1, "distribute"


def _siblings(s: Session, brick: Brick) -> list[Brick]:
    return list(s.execute(select(Brick).where(Brick.volume_id == brick.volume_id,
                                              Brick.set_index == brick.set_index,
                                              Brick.id != brick.id)
                          .order_by(Brick.position)).scalars())


def _replacement(s: Session, rt: "Runtime", brick: Brick, volume: Volume,
                 exclude_node: str | None, reserved: dict[str, int] | None = None
                 ) -> tuple[str, str, tuple[int, int, int]]:
    siblings = _siblings(s, brick)
    nodes = cluster_nodes(s, volume.cluster_id)
    parsed = parse_volume_options(volume.options)
    strict = (parsed.zone_checking or rt.config.zone_checking) == "strict"
    factor = volume.snapshot_factor if volume.snapshot_enable else 1.0
    copies, _, words = _copies(volume)
    candidates, _, _ = placement_db.candidates(s, volume.cluster_id)
    moving = replacement.BrickToMove(
        device_id=brick.device_id, node_id=brick.node_id,
        set_nodes=frozenset(b.node_id for b in siblings),
        set_zones=frozenset(nodes[b.node_id].zone for b in siblings), copies=copies,
        durability=words)
    best, need = replacement.choose(
        candidates, moving, lambda c: space_needed(brick.size, factor, c.extent_kib), strict,
        exclude_node, reserved)
    return best.id, best.node_id, tuple(need)


def check_removal(s: Session, rt: "Runtime", device_ids: list[str],
                  exclude_node: str | None) -> tuple[str, str] | None:
    """Before any brick moves: does every brick of the devices have a replacement that
    keeps its volume's durability (space promised to earlier bricks counted)?  None
    if so, else (device id, why: the brick, its volume and the rule that failed)."""
    reserved: dict[str, int] = {}
    for device_id in device_ids:
        for brick in s.execute(select(Brick).where(Brick.device_id == device_id,
                                                   Brick.pending_op.is_(None))).scalars():
            volume = s.get(Volume, brick.volume_id)
            if (volume.durability or {}).get("type", "none") in ("none", ""):
                return device_id, (f"brick {brick.id} of volume {volume.name} cannot move: "
                                   "replace brick is not supported for volume durability "
                                   "type none")
            try:
                target, _, need = _replacement(s, rt, brick, volume, exclude_node, reserved)
            except NoReplacement as e:
                return device_id, (f"brick {brick.id} of volume {volume.name} cannot move "
                                   f"without losing durability: {e}")
            reserved[target] = reserved.get(target, 0) + need[2]
    return None


def refusal(device_id: str, node_id: str, node_removal: bool, why: str) -> str:
    """heketi's message for a removal without replacement, then why."""
    if node_removal:
        return (f"Unable to remove node [{node_id}] as no device was found to replace "
                f"device [{device_id}]: {why}")
    return (f"Unable to delete device [{device_id}] as no device was found to replace it: "
            f"No Replacement was found for resource requested to be removed: {why}")


async def check(rt: "Runtime", device_ids: list[str], node_id: str,
                node_removal: bool) -> None:
    """Refuse a device or node removal before anything changes when a brick on it has
    nowhere to go (``OperationFailed`` with the reason)."""
    found = await rt.db.read(lambda s: check_removal(s, rt, device_ids,
                                                     node_id if node_removal else None))
    if found is not None:
        raise engine.OperationFailed(refusal(found[0], node_id, node_removal, found[1]))


def build_evict(s: Session, rt: "Runtime", device_id: str, brick_id: str,
                exclude_node: str | None, op_id: str, healcheck: str = "") -> str:
    brick = s.get(Brick, brick_id)
    placement_db.lock_clusters_of(s, [brick])
    volume = lock_row(s, Volume, brick.volume_id)
    if volume.busy_op is not None or volume.pending_op is not None:
        raise Conflict(f"Volume {volume.id} is busy with another operation; retry later")
    if (volume.durability or {}).get("type", "none") in ("none", ""):
        raise Conflict("replace brick is not supported for volume durability type none")
    new_device, new_node, (tp, meta, total) = _replacement(s, rt, brick, volume, exclude_node)
    siblings = _siblings(s, brick)  # before the new brick joins the set
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
    ask = (online[0] if online else new_node_row).manage
    steps = []
    if healcheck != "disable":
        _, quorum, _ = _copies(volume)
        steps.append(Step("brick_heal_check", bricks.HealCheck(
            host=ask, volume=volume.name, brick_id=brick.id,
            old=(old_node.storage, brick.path),
            peers=[(nodes[b.node_id].storage, b.path) for b in siblings],
            quorum=quorum, hosts=[n.manage for n in online[1:]])))
    steps += [
        Step("bricks_create", bricks_by_host([new], nodes, volume.gid)),
        Step("brick_replace", bricks.BrickReplace(
            host=ask, volume=volume.name,
            old=(old_node.storage, brick.path), new=(new_node_row.storage, new.path),
            hosts=[n.manage for n in online[1:]])),
        Step("bricks_destroy_quietly", bricks_by_host([brick], nodes, volume.gid)),
    ]
    engine.new_operation(s, op_id, "evict-brick", rt.runner.instance_id, steps,
                         [{"id": brick_id, "description": "Delete brick"},
                          {"id": new_bid, "description": "Add brick"}],
                         EvictData(brick_id, new_bid, volume.id))
    return op_id


def _finalize(s: Session, _op_id: str, data: EvictData, results: dict) -> None:
    old = s.get(Brick, data.old)
    if old is not None:
        placement_db.release_bricks(s, [old])
    s.get(Brick, data.new).pending_op = None
    s.get(Volume, data.volume_id).busy_op = None
    left = results.get("bricks_destroy_quietly")
    if left is not None and left.hosts:
        defer_leftovers(s, left, data.volume_id)


@dataclass
class LeftoverData(Record):
    bricks: list[str]   # ids of the bricks (gone from the database) left on the node
    volume_id: str      # the volume they belonged to


def defer_leftovers(s: Session, left: bricks.BrickHosts, volume_id: str) -> str:
    """Bricks replaced away whose node did not answer stay on it: record their destroy as
    a ``leftover-bricks`` operation, ``failed`` and owned by no instance, so the first
    background cleaner takes it and retries it each round until the node answers (the
    deferred undo; the volume is not held meanwhile)."""
    op_id = new_id()
    ids = [b.id for host_bricks in left.hosts.values() for b in host_bricks]
    engine.new_operation(s, op_id, "leftover-bricks", "",
                         [Step("bricks_destroy_when_back", left)],
                         [{"id": i, "description": "Delete brick left on a node that did not "
                                                   "answer"} for i in ids],
                         LeftoverData(ids, volume_id))
    engine.take_built(op_id)  # run by a cleaner, never by this build
    s.execute(update(Operation).where(Operation.id == op_id).values(
        status="failed", error=f"node {', '.join(left.hosts)} did not answer: brick(s) "
                               f"{', '.join(ids)} left there, destroyed when it answers"))
    return op_id


def forget_leftovers(s: Session, host: str) -> None:
    """The node ``host`` is deleted from pyketi: bricks left on it are no longer pyketi's
    to destroy (its cleaner would try forever); said in the log."""
    for op in s.execute(select(Operation).where(Operation.type == "leftover-bricks")).scalars():
        if any(host in st["args"]["hosts"] for st in op.spec.get("steps", [])):
            log.warning("node %s deleted: brick(s) %s left on it are no longer cleaned up "
                        "by pyketi (operation %s dropped)", host,
                        ", ".join(c.get("id", "") for c in op.changes), op.id)
            s.delete(op)


def _no_change(_s: Session, _op_id: str, _data: LeftoverData, _results: dict) -> None:
    """A leftover's destroy changes nothing in the database (its bricks are gone there)."""


def _rollback(s: Session, _op_id: str, data: EvictData, _results: dict) -> None:
    new = s.get(Brick, data.new)
    if new is not None:
        placement_db.release_bricks(s, [new])
    volume = s.get(Volume, data.volume_id)
    if volume is not None:
        volume.busy_op = None


KIND = KindDef("evict-brick", "rollback", EvictData, _finalize, _rollback)
LEFTOVER_KIND = KindDef("leftover-bricks", "forward", LeftoverData, _no_change, _no_change)


def build_evict_brick(s: Session, rt: "Runtime", brick_id: str, op_id: str,
                      healcheck: str = "") -> str:
    """``POST /bricks/to-evict/{id}``: one brick moved (heketi ``BrickEvict``)."""
    brick = s.get(Brick, brick_id)
    if brick is None or brick.pending_op is not None:
        raise NotFound()
    try:
        return build_evict(s, rt, brick.device_id, brick_id, None, op_id, healcheck)
    except NoReplacement as e:
        raise Conflict("No Replacement was found for resource requested to be removed: "
                       f"{e}") from None


async def evict_brick(rt: "Runtime", brick_id: str, healcheck: str = "") -> str:
    return await rt.runner.submit(lambda s, op_id: build_evict_brick(s, rt, brick_id, op_id,
                                                                     healcheck))


async def remove_device(rt: "Runtime", device_id: str, healcheck: str = "",
                        node_removal: bool = False, checked: bool = False) -> None:
    """Evacuate all bricks of an offline device, then mark it failed.  Refused before
    any brick moves when one of them has no replacement keeping its volume's
    durability (``checked``: the caller checked already).  Each brick's move is one
    ``evict-brick`` operation; its progress (which brick, heal info, step) is shown
    by ``/operations/pending``."""

    def bricks_and_node(s: Session) -> tuple[list[str], str]:
        device = s.get(Device, device_id)
        ids = [b.id for b in s.execute(select(Brick).where(Brick.device_id == device_id,
                                                           Brick.pending_op.is_(None)))
               .scalars()]
        return ids, device.node_id

    brick_ids, node_id = await rt.db.read(bricks_and_node)
    if not checked:
        await check(rt, [device_id], node_id, node_removal)
    what = f"node {node_id} remove" if node_removal else "device remove"
    for k, brick_id in enumerate(brick_ids, 1):
        try:
            op_id = await rt.runner.record(lambda s, op, b=brick_id: build_evict(
                s, rt, device_id, b, node_id if node_removal else None, op, healcheck))
        except NoReplacement as e:  # the cluster changed since the check
            raise engine.OperationFailed(refusal(device_id, node_id, node_removal,
                                                 str(e))) from None
        rt.runner.running_ops.add(op_id)
        rt.runner.report(op_id, "task", f"{what}: device {device_id}, brick {k} of "
                                        f"{len(brick_ids)} ({brick_id})")
        try:
            await rt.runner.execute(op_id)
        finally:
            rt.runner.running_ops.discard(op_id)

    def mark_failed(s: Session) -> None:
        lock_row(s, Device, device_id).state = "failed"
    await rt.db.write(mark_failed)
