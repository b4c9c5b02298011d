"""Volume expand: new brick sets sized for the added amount, add-brick, rebalance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db.models import Volume
from pyketi.errors import ServerError
from pyketi.operations import engine, placement_db
from pyketi.operations.block_restriction import block_sizes
from pyketi.operations.common import claim_volume, cluster_nodes, volume_bricks
from pyketi.operations.engine import KindDef
from pyketi.operations.executor_requests import bricks_by_host, volume_request
from pyketi.operations.record import Record
from pyketi.operations.steps import Step, volumes
from pyketi.operations.volume_create import VolumeCreate, placement_spec
from pyketi.placement import PlacementError, place_volume

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


@dataclass
class ExpandData(Record):
    volume_id: str
    delta: int          # GiB added


def request_of(volume: Volume) -> VolumeCreate:
    dur = volume.durability or {}
    return VolumeCreate(size=volume.size, dtype=dur.get("type") or "none",
                        replica=(dur.get("replicate") or {}).get("replica", 0),
                        data=(dur.get("disperse") or {}).get("data", 0),
                        redundancy=(dur.get("disperse") or {}).get("redundancy", 0),
                        snapshot_enable=volume.snapshot_enable,
                        snapshot_factor=volume.snapshot_factor, block=volume.block)


def build(s: Session, rt: "Runtime", volume_id: str, delta: int, op_id: str) -> str:
    volume = claim_volume(s, volume_id, op_id)
    existing = volume_bricks(s, volume_id)
    devices, _, _ = placement_db.candidates(s, volume.cluster_id)
    spec = placement_spec(rt, request_of(volume), volume.options, size_gib=delta,
                          existing_bricks=len(existing))
    try:
        placement = place_volume(devices, spec, rt.limits)
    except PlacementError as e:
        raise ServerError(f"Failed to allocate volume expansion: {e}") from e
    offset = 1 + max((b.set_index for b in existing), default=-1)
    new = placement_db.apply_placement(s, placement, volume_id, op_id, set_offset=offset)
    s.flush()
    nodes = cluster_nodes(s, volume.cluster_id)
    new_ordered = sorted(new, key=lambda b: (b.set_index, b.position))
    steps = [
        Step("bricks_create", bricks_by_host(new, nodes, volume.gid)),
        Step("volume_expand", volumes.VolumeExpand(
            host=nodes[new_ordered[0].node_id].manage,
            volume=volume_request(volume, existing + new, nodes),
            new_bricks=[(nodes[b.node_id].storage, b.path) for b in new_ordered],
            rebalance=rt.config.rebalance_on_expansion)),
    ]
    changes = [{"id": b.id, "description": "Add brick"} for b in new]
    changes.append({"id": volume_id, "description": "Expand volume"})
    engine.new_operation(s, op_id, "expand-volume", rt.runner.instance_id, steps, changes,
                         ExpandData(volume_id, delta))
    return op_id


def finalize(s: Session, op_id: str, data: ExpandData, _results: dict) -> None:
    volume = s.get(Volume, data.volume_id)
    volume.size += data.delta
    if volume.block:
        info = dict(volume.blockinfo or {})
        free, reserved = block_sizes(data.delta)
        info["freesize"] = info.get("freesize", 0) + free
        info["reservedsize"] = info.get("reservedsize", 0) + reserved
        volume.blockinfo = info
    volume.busy_op = None
    for brick in volume_bricks(s, volume.id):
        if brick.pending_op == op_id:
            brick.pending_op = None


def rollback(s: Session, op_id: str, data: ExpandData, _results: dict) -> None:
    volume = s.get(Volume, data.volume_id)
    placement_db.release_bricks(s, [b for b in volume_bricks(s, volume.id)
                                    if b.pending_op == op_id])
    volume.busy_op = None


KIND = KindDef("expand-volume", "rollback", ExpandData, finalize, rollback)


async def expand(rt: "Runtime", volume_id: str, delta: int) -> str:
    return await rt.runner.submit(lambda s, op_id: build(s, rt, volume_id, delta, op_id),
                                  f"/volumes/{volume_id}")
