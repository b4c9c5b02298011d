"""Volume delete: stop+delete the gluster volume, destroy its bricks, free space.

A *forward* operation: each step is idempotent, so after a crash the cleaner
re-runs it to the end (heketi#1220: failed deletes must be resumable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db.models import Volume
from pyketi.errors import Conflict
from pyketi.operations import engine, placement_db
from pyketi.operations.common import (claim_volume, cluster_nodes, delete_volume_row,
                                       manage_hosts, volume_bricks)
from pyketi.operations.engine import KindDef
from pyketi.operations.executor_requests import bricks_by_host
from pyketi.operations.record import VolumeRef
from pyketi.operations.steps import Step, volumes

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

DB_VOLUME = "heketidbstorage"


def build(s: Session, rt: "Runtime", volume_id: str, op_id: str) -> str:
    volume = claim_volume(s, volume_id, op_id)
    if volume.name == DB_VOLUME:
        raise Conflict("Cannot delete volume containing the Heketi database")
    if (volume.blockinfo or {}).get("blockvolume"):
        raise Conflict("Cannot delete a block hosting volume containing block volumes")
    volume.pending_op = op_id
    bricks = volume_bricks(s, volume_id)
    for brick in bricks:
        brick.pending_op = op_id
    nodes = cluster_nodes(s, volume.cluster_id)
    steps = [
        Step("volume_destroy", volumes.VolumeDestroy(manage_hosts(nodes), volume.name)),
        Step("bricks_destroy", bricks_by_host(bricks, nodes, 0)),
    ]
    changes = [{"id": b.id, "description": "Delete brick"} for b in bricks]
    changes.append({"id": volume_id, "description": "Delete volume"})
    engine.new_operation(s, op_id, "delete-volume", rt.runner.instance_id, steps, changes,
                         VolumeRef(volume_id))
    return op_id


def finalize(s: Session, _op_id: str, data: VolumeRef, results: dict) -> None:
    volume_id = data.volume_id
    destroyed: dict[str, bool] | None = results.get("bricks_destroy")  # brick id -> reclaimed
    reclaimed = None if destroyed is None else {bid for bid, done in destroyed.items() if done}
    placement_db.release_bricks(s, volume_bricks(s, volume_id), reclaimed)
    s.flush()
    delete_volume_row(s, volume_id)


def lift_marks(s: Session, _op_id: str, data: VolumeRef, _results: dict) -> None:
    volume_id = data.volume_id
    volume = s.get(Volume, volume_id)
    if volume is not None:
        volume.pending_op = None
        volume.busy_op = None
    for brick in volume_bricks(s, volume_id):
        brick.pending_op = None


KIND = KindDef("delete-volume", "forward", VolumeRef, finalize, lift_marks)


async def delete(rt: "Runtime", volume_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build(s, rt, volume_id, op_id))
