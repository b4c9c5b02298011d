"""Core statements of the hot path: volume create and delete, the job queue.

Each statement is built once, at import, with ``bindparam`` placeholders, and run on
the session's connection (``session.connection()``).  Building a statement and its
cache key costs more than SQLite needs to run it, and the ORM path
(``session.get``, ``session.execute`` of an entity, unit-of-work flush) costs several
times that again (bench/api_bench.py: about 0.2 ms per trivial ORM transaction on an
idle core against 0.03 ms for a prepared Core statement).  Other operations (expand,
clone, device and node changes) still use the ORM: they are rare.

Functions here only read and write rows; the rules (what may be deleted, which error
to raise) stay with the operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from pyketi.db.fast import run
from pyketi.db.models import (Brick, Cluster, Device, Gid, Job, Node, NodeHostnames, Operation,
                              Volume)

# -- clusters ------------------------------------------------------------------------

CLUSTER_IDS = select(Cluster.id).order_by(Cluster.id)
# volume_count: kept by the database's triggers on ``volumes`` (migration 0004); read
# under the row lock (PostgreSQL) or in the single write transaction (SQLite), it is
# exact when a create checks heketi's max_volumes_per_cluster
_CLUSTER = select(Cluster.id, Cluster.block, Cluster.file, Cluster.volume_count).where(
    Cluster.id == bindparam("c_id"))
_CLUSTER_LOCKED = _CLUSTER.with_for_update()
_VOLUME_NAMED = select(Volume.id).where(Volume.cluster_id == bindparam("c_id"),
                                        Volume.name == bindparam("v_name")).limit(1)


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def cluster_row(conn: Connection, cluster_id: str) -> Row | None:
    """(id, block, file, volume_count) of a cluster, locked ``FOR UPDATE`` on PostgreSQL."""
    stmt = _CLUSTER_LOCKED if is_postgresql(conn) else _CLUSTER
    return run(conn, stmt, {"c_id": cluster_id}).first()


def volume_name_used(conn: Connection, cluster_id: str, name: str) -> bool:
    return run(conn, _VOLUME_NAMED, {"c_id": cluster_id, "v_name": name}).first() is not None


# -- nodes and devices -----------------------------------------------------------------

@dataclass(frozen=True)
class NodeRow(NodeHostnames):
    """The node columns operations read (an ORM ``Node`` look-alike, without the ORM)."""

    id: str
    zone: int
    state: str
    pending_op: str | None
    manage_hostnames: list
    storage_hostnames: list
    tags: dict


_NODES = select(Node.id, Node.zone, Node.state, Node.pending_op, Node.manage_hostnames,
                Node.storage_hostnames, Node.tags).where(Node.cluster_id == bindparam("c_id"))
_FREE_DEVICES = (select(Device.id, Device.node_id, Device.free, Device.extent_size, Device.tags)
                 .join(Node, Node.id == Device.node_id)
                 .where(Node.cluster_id == bindparam("c_id"), Device.state == "online",
                        Device.pending_op.is_(None)))


def cluster_nodes(conn: Connection, cluster_id: str) -> dict[str, NodeRow]:
    return {r.id: NodeRow(*r) for r in run(conn, _NODES, {"c_id": cluster_id})}


def online_devices(conn: Connection, cluster_id: str) -> list[Row]:
    """(id, node_id, free, extent_size, tags) of the cluster's online, settled devices
    (the caller keeps those on usable nodes)."""
    return list(run(conn, _FREE_DEVICES, {"c_id": cluster_id}))


_TAKE_SPACE = (update(Device)
               .where(Device.id == bindparam("d_id"), Device.free > bindparam("kib"))
               .values(free=Device.free - bindparam("kib"), used=Device.used + bindparam("kib")))
_GIVE_SPACE = (update(Device).where(Device.id == bindparam("d_id"))
               .values(free=Device.free + bindparam("kib"),
                       used=case((Device.used > bindparam("kib"),
                                  Device.used - bindparam("kib")), else_=0)))


def take_space(conn: Connection, device_id: str, kib: int) -> bool:
    """Take ``kib`` from a device; False (nothing changed) if it has not that much free."""
    return run(conn, _TAKE_SPACE, {"d_id": device_id, "kib": kib}).rowcount == 1


def take_space_of(conn: Connection, kib_by_device: dict[str, int]) -> bool:
    """Take space from several devices (sorted: one lock order), one guarded UPDATE
    executed for all of them; False when a device had not enough free (the caller
    raises: the transaction is rolled back)."""
    params = [{"d_id": d, "kib": kib} for d, kib in sorted(kib_by_device.items())]
    if len(params) > 1 and conn.dialect.supports_sane_multi_rowcount:
        return run(conn, _TAKE_SPACE, params).rowcount == len(params)
    return all([take_space(conn, p["d_id"], p["kib"]) for p in params])


def give_space(conn: Connection, kib_by_device: dict[str, int]) -> None:
    params = [{"d_id": d, "kib": kib} for d, kib in sorted(kib_by_device.items())]
    if params:
        run(conn, _GIVE_SPACE, params)


# -- volumes and bricks ----------------------------------------------------------------

_INSERT_VOLUME = insert(Volume)
_INSERT_BRICK = insert(Brick)
_BRICKS = (select(*Brick.__table__.c).where(Brick.volume_id == bindparam("v_id"))
           .order_by(Brick.set_index, Brick.position))
_SET_BRICK_MARK = (update(Brick).where(Brick.volume_id == bindparam("v_id"))
                   .values(pending_op=bindparam("op")))
_DELETE_BRICKS = delete(Brick).where(Brick.volume_id == bindparam("v_id"))
_VOLUME = select(*Volume.__table__.c).where(Volume.id == bindparam("v_id"))
_VOLUME_LOCKED = _VOLUME.with_for_update()
_SET_VOLUME_MARKS = (update(Volume).where(Volume.id == bindparam("v_id"))
                     .values(pending_op=bindparam("pending"), busy_op=bindparam("busy")))
_DELETE_VOLUME = delete(Volume).where(Volume.id == bindparam("v_id"))
_DELETE_GIDS = delete(Gid).where(Gid.volume_id == bindparam("v_id"))


def insert_volume(conn: Connection, values: dict[str, Any]) -> None:
    run(conn, _INSERT_VOLUME, values)


def insert_bricks(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        run(conn, _INSERT_BRICK, rows)


def volume_row(conn: Connection, volume_id: str, lock: bool = False) -> Row | None:
    """Every column of a volume; ``lock``: ``FOR UPDATE`` on PostgreSQL."""
    stmt = _VOLUME_LOCKED if lock and is_postgresql(conn) else _VOLUME
    return run(conn, stmt, {"v_id": volume_id}).first()


def volume_bricks(conn: Connection, volume_id: str) -> list[Row]:
    """Every column of the volume's bricks, in set order."""
    return list(run(conn, _BRICKS, {"v_id": volume_id}))


def mark_volume(conn: Connection, volume_id: str, pending: str | None, busy: str | None) -> None:
    run(conn, _SET_VOLUME_MARKS, {"v_id": volume_id, "pending": pending, "busy": busy})


def mark_bricks(conn: Connection, volume_id: str, op_id: str | None) -> None:
    run(conn, _SET_BRICK_MARK, {"v_id": volume_id, "op": op_id})


def delete_volume(conn: Connection, volume_id: str) -> None:
    """Delete a volume's bricks, its gid and the volume itself (space is the caller's)."""
    run(conn, _DELETE_BRICKS, {"v_id": volume_id})
    run(conn, _DELETE_GIDS, {"v_id": volume_id})
    run(conn, _DELETE_VOLUME, {"v_id": volume_id})


def space_of(bricks: Iterable[Any], only: set[str] | None = None) -> dict[str, int]:
    """Device id -> KiB the bricks (all, or only the ``only`` ids) take."""
    out: dict[str, int] = {}
    for b in bricks:
        if b.space and (only is None or b.id in only):
            out[b.device_id] = out.get(b.device_id, 0) + b.space
    return out


# -- operations and jobs ---------------------------------------------------------------

_INSERT_OPERATION = insert(Operation)
_DELETE_OPERATION = delete(Operation).where(Operation.id == bindparam("o_id"))
_INSERT_JOB = insert(Job)
_FINISH_JOB = (update(Job).where(Job.id == bindparam("j_id"))
               .values(status=bindparam("j_status"), location=bindparam("j_location"),
                       error=bindparam("j_error"), finished_at=bindparam("j_finished")))
_JOB = select(Job.status, Job.role, Job.location, Job.error, Job.finished_at).where(
    Job.id == bindparam("j_id"))
_CONSUME_JOB = delete(Job).where(Job.id == bindparam("j_id"), Job.status != "pending")
_TAKE_JOB = (delete(Job).where(Job.id == bindparam("j_id"), Job.status != "pending",
                               Job.finished_at > bindparam("j_cutoff"))
             .returning(Job.status, Job.location, Job.error))
_TAKE_OWN_JOB = _TAKE_JOB.where(Job.role == bindparam("j_role"))


def insert_operation(conn: Connection, values: dict[str, Any]) -> None:
    run(conn, _INSERT_OPERATION, values)


def delete_operation(conn: Connection, op_id: str) -> bool:
    """Delete an operation's row; False if there was none."""
    return run(conn, _DELETE_OPERATION, {"o_id": op_id}).rowcount == 1


def insert_job(conn: Connection, values: dict[str, Any]) -> None:
    run(conn, _INSERT_JOB, values)


def finish_job(conn: Connection, job_id: str, status: str, location: str, error: str,
               finished_at: float) -> None:
    run(conn, _FINISH_JOB, {"j_id": job_id, "j_status": status, "j_location": location,
                               "j_error": error, "j_finished": finished_at})


def job_row(conn: Connection, job_id: str) -> Row | None:
    """(status, role, location, error, finished_at) of a job."""
    return run(conn, _JOB, {"j_id": job_id}).first()


def take_finished_job(conn: Connection, job_id: str, role: str | None,
                      cutoff: float) -> Row | None:
    """Consume a finished, unexpired job in one statement (``DELETE ... RETURNING``):
    (status, location, error), or None when there is no such job for ``role`` (None:
    any role) or the database cannot return deleted rows (SQLite before 3.35)."""
    if not conn.dialect.delete_returning:
        return None
    if role is None:
        return run(conn, _TAKE_JOB, {"j_id": job_id, "j_cutoff": cutoff}).first()
    return run(conn, _TAKE_OWN_JOB, {"j_id": job_id, "j_cutoff": cutoff,
                                        "j_role": role}).first()


def consume_job(conn: Connection, job_id: str) -> bool:
    """Delete a finished job; False if it is gone or still pending (another reader won)."""
    return run(conn, _CONSUME_JOB, {"j_id": job_id}).rowcount == 1
