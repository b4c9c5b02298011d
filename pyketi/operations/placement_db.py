"""Bridge between the database and the pure placement module."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Cluster, Device, Node, Volume
from pyketi.db.session import lock_row
from pyketi.node_paths import brick_path
from pyketi.placement import DeviceCandidate, Placement


def candidates(s: Session, cluster_id: str) -> tuple[list[DeviceCandidate], int, int]:
    """Online devices on online nodes of the cluster.

    Returns (candidates, number of nodes in the cluster, number of online nodes).
    """
    nodes = list(s.execute(select(Node).where(Node.cluster_id == cluster_id,
                                              Node.pending_op.is_(None))).scalars())
    online = {n.id: n for n in nodes if n.state == "online"}
    if not online:
        return [], len(nodes), 0
    devices = s.execute(select(Device).where(Device.node_id.in_(list(online)),
                                             Device.state == "online",
                                             Device.pending_op.is_(None))).scalars()
    result = []
    for d in devices:
        node = online[d.node_id]
        tags = {**(node.tags or {}), **(d.tags or {})}
        result.append(DeviceCandidate(id=d.id, node_id=d.node_id, zone=node.zone,
                                      free_kib=d.free, extent_kib=d.extent_size, tags=tags))
    return result, len(nodes), len(online)


def apply_placement(s: Session, placement: Placement, volume_id: str, op_id: str | None,
                    set_offset: int = 0) -> list[Brick]:
    """Insert pending brick rows and take their space from the devices."""
    bricks = []
    for b in placement.bricks:
        brick = Brick(id=b.id, volume_id=volume_id, device_id=b.device_id, node_id=b.node_id,
                      path=brick_path(b.device_id, b.id), size=b.size_kib,
                      tp_size=b.tp_size_kib, pool_metadata_size=b.pool_metadata_kib,
                      space=b.total_kib, lvm_thin_pool=f"tp_{b.id}", lvm_lv="",
                      subtype=2 if b.arbiter else 1, set_index=b.set_index + set_offset,
                      position=b.position, pending_op=op_id)
        s.add(brick)
        bricks.append(brick)
    for device_id, taken in placement.device_usage.items():
        # one UPDATE per device, guarded: it cannot take space the device does not have
        done = s.execute(update(Device).where(Device.id == device_id, Device.free > taken)
                         .values(free=Device.free - taken, used=Device.used + taken))
        if done.rowcount != 1:  # pragma: no cover - placement guarantees free > need
            raise RuntimeError(f"device {device_id} would be overbooked")
    return bricks


def lock_clusters_of(s: Session, bricks: list[Brick]) -> None:
    """Take the cluster row locks (sorted) before changing device space, so every
    transaction that touches devices locks in the same order: cluster first."""
    volume_ids = sorted({b.volume_id for b in bricks})
    if not volume_ids:
        return
    cluster_ids = sorted(set(s.execute(select(Volume.cluster_id)
                                       .where(Volume.id.in_(volume_ids))).scalars()))
    for cid in cluster_ids:
        lock_row(s, Cluster, cid)


def release_bricks(s: Session, bricks: list[Brick], reclaimed: set[str] | None = None) -> None:
    """Delete brick rows and give their space back (all, or only ``reclaimed`` ids)."""
    lock_clusters_of(s, bricks)
    for brick in bricks:
        if reclaimed is None or brick.id in reclaimed:
            device = s.get(Device, brick.device_id)
            if device is not None and brick.space:
                device.free += brick.space
                device.used = max(0, device.used - brick.space)
        s.delete(brick)
