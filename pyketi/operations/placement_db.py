"""Bridge between the database and the pure placement module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Brick, Device, Volume
from pyketi.node_paths import brick_path
from pyketi.placement import DeviceCandidate, Placement


def candidates(s: Session, cluster_id: str,
               nodes: dict[str, sql.NodeRow] | None = None
               ) -> tuple[list[DeviceCandidate], int, int]:
    """Online devices on online nodes of the cluster (``nodes``: the cluster's nodes,
    when the caller has read them already).

    Returns (candidates, number of nodes in the cluster, number of online nodes).
    """
    conn = s.connection()
    if nodes is None:
        nodes = sql.cluster_nodes(conn, cluster_id)
    settled = [n for n in nodes.values() if n.pending_op is None]
    online = {n.id: n for n in settled if n.state == "online"}
    if not online:
        return [], len(settled), 0
    result = []
    for d in sql.online_devices(conn, cluster_id):
        node = online.get(d.node_id)
        if node is None:
            continue
        tags = {**(node.tags or {}), **(d.tags or {})}
        result.append(DeviceCandidate(id=d.id, node_id=d.node_id, zone=node.zone,
                                      free_kib=d.free, extent_kib=d.extent_size, tags=tags))
    return result, len(settled), len(online)


def brick_rows(placement: Placement, volume_id: str, op_id: str | None,
               set_offset: int = 0) -> list[dict[str, Any]]:
    """The brick rows of a placement (pending on ``op_id``)."""
    return [dict(id=b.id, volume_id=volume_id, device_id=b.device_id, node_id=b.node_id,
                 path=brick_path(b.device_id, b.id), size=b.size_kib,
                 tp_size=b.tp_size_kib, pool_metadata_size=b.pool_metadata_kib,
                 space=b.total_kib, lvm_thin_pool=f"tp_{b.id}", lvm_lv="",
                 subtype=2 if b.arbiter else 1, set_index=b.set_index + set_offset,
                 position=b.position, pending_op=op_id)
            for b in placement.bricks]


def take_space(s: Session, placement: Placement) -> None:
    # one UPDATE per device, guarded: it cannot take space the device does not have
    if not sql.take_space_of(s.connection(), placement.device_usage):
        # pragma: no cover - placement guarantees free > need
        raise RuntimeError("a device would be overbooked: "
                           + ", ".join(sorted(placement.device_usage)))


def insert_placement(s: Session, placement: Placement, volume_id: str,
                     op_id: str | None) -> list[Brick]:
    """``apply_placement`` without the ORM (volume create): the bricks are written at once
    and returned as detached ``Brick`` objects (read-only copies)."""
    rows = brick_rows(placement, volume_id, op_id)
    sql.insert_bricks(s.connection(), rows)
    take_space(s, placement)
    return [Brick(**row) for row in rows]


def apply_placement(s: Session, placement: Placement, volume_id: str, op_id: str | None,
                    set_offset: int = 0) -> list[Brick]:
    """Insert pending brick rows (ORM objects of the session) and take their space from
    the devices."""
    bricks = [Brick(**row) for row in brick_rows(placement, volume_id, op_id, set_offset)]
    s.add_all(bricks)
    take_space(s, placement)
    return bricks


def lock_clusters_of(s: Session, bricks: list[Any]) -> None:
    """Take the cluster row locks (sorted) before changing device space, so every
    transaction that touches devices locks in the same order: cluster first.
    (SQLite: write transactions are serialized, there is nothing to lock.)"""
    conn = s.connection()
    volume_ids = sorted({b.volume_id for b in bricks})
    if not volume_ids or not sql.is_postgresql(conn):
        return
    cluster_ids = sorted(set(conn.execute(select(Volume.cluster_id)
                                          .where(Volume.id.in_(volume_ids))).scalars()))
    for cid in cluster_ids:
        sql.cluster_row(conn, cid)


def release_space(s: Session, bricks: list[Any], reclaimed: set[str] | None = None) -> None:
    """Give the bricks' space back to their devices (all, or only ``reclaimed`` ids);
    the rows themselves are the caller's."""
    lock_clusters_of(s, bricks)
    s.flush()  # device rows the session changed are written before the SQL update
    sql.give_space(s.connection(), sql.space_of(bricks, reclaimed))
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Device):  # loaded before: read the new space on next access
            s.expire(obj, ["free", "used"])


def release_bricks(s: Session, bricks: list[Brick], reclaimed: set[str] | None = None) -> None:
    """Delete brick rows (ORM objects of the session) and give their space back (all,
    or only ``reclaimed`` ids)."""
    release_space(s, bricks, reclaimed)
    for brick in bricks:
        s.delete(brick)
