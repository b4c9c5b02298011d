"""Volume delete: stop+delete the gluster volume, destroy its bricks, free space.

A *forward* operation: each step is idempotent, so after a crash the cleaner
re-runs it to the end (heketi#1220: failed deletes must be resumable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Operation
from pyketi.errors import Conflict
from pyketi.ids import new_id
from pyketi.operations import engine, placement_db
from pyketi.operations.common import claim_volume_row, manage_hosts
from pyketi.operations.engine import KindDef
from pyketi.operations.steps import bricks_by_host

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
        {"name": "volume_destroy", "args": {"hosts": manage_hosts(nodes), "name": volume.name}},
        {"name": "bricks_destroy", "args": {"hosts": bricks_by_host(bricks, nodes, 0)}},
    ]
    changes = [{"id": b.id, "description": "Delete brick"} for b in bricks]
    changes.append({"id": volume_id, "description": "Delete volume"})
    engine.new_operation(s, op_id, "delete-volume", rt.instance_id, steps, changes,
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
    conn = s.connection()
    placement_db.release_space(s, sql.volume_bricks(conn, volume_id), reclaimed)
    sql.delete_volume(conn, volume_id)


def lift_marks(s: Session, op: Operation, _results: dict) -> None:
    volume_id = op.spec["data"]["volume_id"]
    conn = s.connection()
    sql.mark_volume(conn, volume_id, pending=None, busy=None)
    sql.mark_bricks(conn, volume_id, None)


engine.kind("delete-volume", KindDef("delete-volume", "forward", finalize, lift_marks))


async def delete(rt: "Runtime", volume_id: str) -> str:
    return await engine.submit(rt, lambda s: build(s, rt, volume_id, new_id()))
