"""Volume delete: stop+delete the gluster volume, destroy its bricks, free space.

A *forward* operation: each step is idempotent, so after a crash the cleaner
re-runs it to the end (heketi#1220: failed deletes must be resumable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db.models import Operation, Volume
from pyketi.errors import Conflict
from pyketi.ids import new_id
from pyketi.operations import engine, placement_db
from pyketi.operations.common import (claim_volume, cluster_nodes, delete_volume_row,
                                       manage_hosts, volume_bricks)
from pyketi.operations.engine import KindDef
from pyketi.operations.steps import bricks_by_host

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
        {"name": "volume_destroy", "args": {"hosts": manage_hosts(nodes), "name": volume.name}},
        {"name": "bricks_destroy", "args": {"hosts": bricks_by_host(bricks, nodes, 0)}},
    ]
    changes = [{"id": b.id, "description": "Delete brick"} for b in bricks]
    changes.append({"id": volume_id, "description": "Delete volume"})
    engine.new_operation(s, op_id, "delete-volume", rt.runner.instance_id, steps, changes,
                         {"volume_id": volume_id})
    return op_id


def finalize(s: Session, op: Operation, results: dict) -> None:
    volume_id = op.spec["data"]["volume_id"]
    reclaimed: set[str] | None = None
    destroyed = results.get("bricks_destroy")
    if destroyed is not None:
        reclaimed = set()
        hosts = op.spec["steps"][1]["args"]["hosts"]
        for host, flags in destroyed.items():
            for brick, flag in zip(hosts[host], flags):
                if flag:
                    reclaimed.add(brick["id"])
    placement_db.release_bricks(s, volume_bricks(s, volume_id), reclaimed)
    s.flush()
    delete_volume_row(s, volume_id)


def lift_marks(s: Session, op: Operation, _results: dict) -> None:
    volume_id = op.spec["data"]["volume_id"]
    volume = s.get(Volume, volume_id)
    if volume is not None:
        volume.pending_op = None
        volume.busy_op = None
    for brick in volume_bricks(s, volume_id):
        brick.pending_op = None


engine.kind("delete-volume", KindDef("delete-volume", "forward", finalize, lift_marks))


async def delete(rt: "Runtime", volume_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build(s, rt, volume_id, op_id))
