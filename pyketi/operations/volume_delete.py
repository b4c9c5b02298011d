"""Volume delete: stop+delete the gluster volume, destroy its bricks, free space.

A *forward* operation: each step is idempotent, so after a crash the cleaner
re-runs it to the end (heketi#1220: failed deletes must be resumable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.errors import Conflict
from pyketi.operations import engine, placement_db
from pyketi.operations.common import claim_volume_row, manage_hosts
from pyketi.operations.engine import KindDef
from pyketi.operations.executor_requests import bricks_by_host
from pyketi.operations.record import VolumeRef
from pyketi.operations.steps import Step, volumes

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

DB_VOLUME = "heketidbstorage"


def build(s: Session, rt: "Runtime", volume_id: str, op_id: str) -> str:
    # the hot path: Core statements (db/statements.py), no ORM; a refusal below rolls
    # the claim back with the transaction
    volume = claim_volume_row(s, volume_id, op_id, pending=True)
    if volume.name == DB_VOLUME:
        raise Conflict("Cannot delete volume containing the Heketi database")
    if (volume.blockinfo or {}).get("blockvolume"):
        raise Conflict("Cannot delete a block hosting volume containing block volumes")
    conn = s.connection()
    bricks = sql.volume_bricks(conn, volume_id)
    sql.mark_bricks(conn, volume_id, op_id)
    nodes = sql.cluster_nodes(conn, volume.cluster_id)
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
    conn = s.connection()
    placement_db.release_space(s, sql.volume_bricks(conn, volume_id), reclaimed)
    sql.delete_volume(conn, volume_id)


def lift_marks(s: Session, _op_id: str, data: VolumeRef, _results: dict) -> None:
    conn = s.connection()
    sql.mark_volume(conn, data.volume_id, pending=None, busy=None)
    sql.mark_bricks(conn, data.volume_id, None)


KIND = KindDef("delete-volume", "forward", VolumeRef, finalize, lift_marks)


async def delete(rt: "Runtime", volume_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build(s, rt, volume_id, op_id))
