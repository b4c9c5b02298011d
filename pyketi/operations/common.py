"""Lookups shared by operation builders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Brick, Cluster, Gid, Node, Volume
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound


def cluster_nodes(s: Session, cluster_id: str) -> dict[str, Node]:
    return {n.id: n for n in s.execute(select(Node).where(Node.cluster_id == cluster_id))
            .scalars()}


def manage_hosts(nodes: dict[str, Node], first: str | None = None) -> list[str]:
    hosts = sorted(n.manage for n in nodes.values() if n.pending_op is None)
    if first and first in hosts:
        hosts.remove(first)
        hosts.insert(0, first)
    return hosts


def volume_bricks(s: Session, volume_id: str) -> list[Brick]:
    return list(s.execute(select(Brick).where(Brick.volume_id == volume_id)
                          .order_by(Brick.set_index, Brick.position)).scalars())


def claim_volume_row(s: Session, volume_id: str, op_id: str, pending: bool = False) -> Row:
    """``claim_volume`` without the ORM (volume delete): returns the volume's row as it
    was before the claim; ``pending``: also hide the volume (``pending_op``)."""
    conn = s.connection()
    found = sql.volume_row(conn, volume_id)
    if found is None:
        raise NotFound()
    # lock order everywhere: cluster row, then volume row, then devices
    if sql.is_postgresql(conn):
        sql.cluster_row(conn, found.cluster_id)
        found = sql.volume_row(conn, volume_id, lock=True)
        if found is None:
            raise NotFound()
    if found.busy_op is not None or found.pending_op is not None:
        raise Conflict(f"Volume {volume_id} is busy with another operation; retry later")
    sql.mark_volume(conn, volume_id, pending=op_id if pending else None, busy=op_id)
    return found


def delete_volume_row(s: Session, volume_id: str) -> None:
    """Remove a volume (its bricks are gone already) and free its gid."""
    volume = s.get(Volume, volume_id)
    if volume is not None:
        s.delete(volume)
    for gid in s.execute(select(Gid).where(Gid.volume_id == volume_id)).scalars():
        s.delete(gid)


def claim_volume(s: Session, volume_id: str, op_id: str) -> Volume:
    """Lock a volume for one operation: 404 if unknown, 409 while another operation
    (including its own create or delete) works on it."""
    found = s.get(Volume, volume_id)
    if found is None:
        raise NotFound()
    # lock order everywhere: cluster row, then volume row, then devices
    lock_row(s, Cluster, found.cluster_id)
    volume = lock_row(s, Volume, volume_id)
    if volume is None:
        raise NotFound()
    if volume.busy_op is not None or volume.pending_op is not None:
        raise Conflict(f"Volume {volume_id} is busy with another operation; retry later")
    volume.busy_op = op_id
    return volume
