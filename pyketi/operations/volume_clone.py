"""Volume clone (gluster snapshot + clone; clone bricks share the origin's thin
pools and take no device space)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Volume
from pyketi.errors import Conflict
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.common import claim_volume, cluster_nodes, manage_hosts, volume_bricks
from pyketi.operations.engine import KindDef
from pyketi.operations.record import Record
from pyketi.operations.steps import Step, volumes

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

CLONE_PATH = re.compile(r"^/(?:var/)?run/gluster/snaps/([0-9a-f]+)/brick(\d+)/brick$")


@dataclass
class CloneData(Record):
    volume_id: str      # the source
    clone_id: str


def build(s: Session, rt: "Runtime", volume_id: str, name: str, op_id: str) -> str:
    source = claim_volume(s, volume_id, op_id)
    if source.block:
        raise Conflict(f"Failed clone volume {volume_id}: Cloning of block hosting volumes "
                       "is not supported")
    clone_id = new_id()
    clone_name = name or f"vol_{clone_id}"
    if s.execute(select(Volume.id).where(Volume.cluster_id == source.cluster_id,
                                         Volume.name == clone_name)).first():
        raise Conflict(f"Volume name '{clone_name}' already in use")
    s.add(Volume(id=clone_id, cluster_id=source.cluster_id, name=clone_name, size=source.size,
                 durability=source.durability, gid=source.gid, options=list(source.options),
                 block=False, blockinfo={}, snapshot_enable=source.snapshot_enable,
                 snapshot_factor=source.snapshot_factor, request_clusters=[],
                 pending_op=op_id, busy_op=op_id))
    s.flush()
    for b in volume_bricks(s, volume_id):
        s.add(Brick(id=new_id(), volume_id=clone_id, device_id=b.device_id, node_id=b.node_id,
                    path=b.path, size=b.size, tp_size=b.tp_size,
                    pool_metadata_size=b.pool_metadata_size, space=0,
                    lvm_thin_pool=b.lvm_thin_pool, lvm_lv="", subtype=b.subtype,
                    set_index=b.set_index, position=b.position, pending_op=op_id))
    nodes = cluster_nodes(s, source.cluster_id)
    steps = [Step("volume_clone", volumes.VolumeClone(manage_hosts(nodes), source.name,
                                                      clone_name))]
    changes = [{"id": volume_id, "description": "Clone volume from"},
               {"id": clone_id, "description": "Add volume"}]
    engine.new_operation(s, op_id, "clone-volume", rt.runner.instance_id, steps, changes,
                         CloneData(volume_id, clone_id))
    return op_id


def finalize(s: Session, _op_id: str, data: CloneData, results: dict) -> str:
    clone = s.get(Volume, data.clone_id)
    bricks = volume_bricks(s, clone.id)
    info = results.get("volume_clone")
    for brick, info_brick in zip(bricks, info.bricks if info is not None else []):
        name = info_brick.name
        if ":" in name:
            brick.path = name.split(":", 1)[1]
    for brick in bricks:
        brick.pending_op = None
        brick.lvm_lv = clone_lv_name(brick.path)
    clone.pending_op = None
    clone.busy_op = None
    source = s.get(Volume, data.volume_id)
    if source is not None:
        source.busy_op = None
    return clone.id


def clone_lv_name(path: str) -> str:
    """LV of a gluster snapshot-clone brick (spec §5.5): ``/run/gluster/snaps/<hex>/brick<N>/brick``
    lives on LV ``<hex>_<N-1>``."""
    m = CLONE_PATH.match(path)
    return f"{m.group(1)}_{int(m.group(2)) - 1}" if m else ""


def rollback(s: Session, _op_id: str, data: CloneData, _results: dict) -> None:
    for brick in volume_bricks(s, data.clone_id):
        s.delete(brick)
    s.flush()
    clone = s.get(Volume, data.clone_id)
    if clone is not None:
        s.delete(clone)
    source = s.get(Volume, data.volume_id)
    if source is not None:
        source.busy_op = None


KIND = KindDef("clone-volume", "rollback", CloneData, finalize, rollback)


async def clone(rt: "Runtime", volume_id: str, name: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build(s, rt, volume_id, name, op_id),
                                  lambda clone_id: f"/volumes/{clone_id}")
