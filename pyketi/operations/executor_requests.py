"""Database rows -> the executor's request objects (what builders put in step arguments)."""

from __future__ import annotations

from pyketi.db.models import Brick, Node, Volume
from pyketi.executors.base import BrickRequest, VolumeRequest
from pyketi.operations.steps.bricks import BrickHosts


def brick_request(brick: Brick, node: Node, gid: int) -> BrickRequest:
    return BrickRequest(id=brick.id, device_id=brick.device_id, node_storage=node.storage,
                        size_kib=brick.size, tp_size_kib=brick.tp_size,
                        pool_metadata_kib=brick.pool_metadata_size, gid=gid,
                        arbiter=brick.subtype == 2, tp_name=brick.lvm_thin_pool,
                        lv_name=brick.lvm_lv, path=brick.path)


def bricks_by_host(bricks: list[Brick], nodes: dict[str, Node], gid: int) -> BrickHosts:
    """Bricks grouped per node (one executor call per node)."""
    grouped: dict[str, list[BrickRequest]] = {}
    for brick in bricks:
        node = nodes[brick.node_id]
        grouped.setdefault(node.manage, []).append(brick_request(brick, node, gid))
    return BrickHosts(grouped)


def volume_request(volume: Volume, bricks: list[Brick], nodes: dict[str, Node]) -> VolumeRequest:
    dur = volume.durability or {}
    dtype = dur.get("type") or "none"
    replica = (dur.get("replicate") or {}).get("replica") or 2
    disperse = dur.get("disperse") or {}
    ordered = sorted(bricks, key=lambda b: (b.set_index, b.position))
    arbiter = any(b.subtype == 2 for b in bricks)
    return VolumeRequest(
        name=volume.name, id=volume.id, durability=dtype,
        replica=replica if dtype == "replicate" else 0, arbiter=arbiter,
        disperse_data=disperse.get("data", 0) if dtype == "disperse" else 0,
        disperse_redundancy=disperse.get("redundancy", 0) if dtype == "disperse" else 0,
        bricks=[(nodes[b.node_id].storage, b.path) for b in ordered],
        options=[o for o in volume.options if o.strip()])
