"""``GET /db/check``: internal consistency of the topology store (heketi ``dbcommon.go``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Cluster, Device, Node, Operation, Volume

KINDS = ("clusters", "volumes", "bricks", "nodes", "devices", "blockvolumes",
         "dbattributes", "pendingoperations")


def _section(total: int, pending: int, problems: list[str]) -> dict:
    bad = len(problems)
    return {"total": total, "pending": pending, "ok": total - bad, "notok": bad,
            "inconsistencies": problems}


def check(s: Session) -> dict:
    """Rows, not ORM objects, and sets for every "references" test: linear in the
    number of rows (10,000 volumes, 30,000 bricks: well under a second)."""
    conn = s.connection()

    def rows(model) -> dict:
        return {r.id: r for r in conn.execute(select(*model.__table__.c))}

    clusters, nodes, devices = rows(Cluster), rows(Node), rows(Device)
    volumes, bricks = rows(Volume), rows(Brick)
    ops = set(conn.execute(select(Operation.id)).scalars())
    out: dict = {}

    per_cluster: dict[str, int] = {}
    for v in volumes.values():
        per_cluster[v.cluster_id] = per_cluster.get(v.cluster_id, 0) + 1
    p = [f"Cluster {c.id} counts {c.volume_count} volumes but has {per_cluster.get(c.id, 0)}"
         for c in clusters.values() if c.volume_count != per_cluster.get(c.id, 0)]
    out["clusters"] = _section(len(clusters), 0, p)
    p = [f"Node {n.id} references unknown cluster {n.cluster_id}"
         for n in nodes.values() if n.cluster_id not in clusters]
    out["nodes"] = _section(len(nodes), sum(1 for n in nodes.values() if n.pending_op), p)

    p = []
    used_by_device: dict[str, int] = {}
    for b in bricks.values():
        used_by_device[b.device_id] = used_by_device.get(b.device_id, 0) + b.space
    for d in devices.values():
        if d.node_id not in nodes:
            p.append(f"Device {d.id} references unknown node {d.node_id}")
        if d.pending_op is None and d.total and d.free + d.used != d.total:
            p.append(f"Device {d.id}: free {d.free} + used {d.used} != total {d.total}")
        if d.free < 0:
            p.append(f"Device {d.id} is overbooked: free {d.free}")
        if used_by_device.get(d.id, 0) > d.used:
            p.append(f"Device {d.id}: bricks take {used_by_device[d.id]} KiB but used is {d.used}")
    out["devices"] = _section(len(devices), sum(1 for d in devices.values() if d.pending_op), p)

    p = []
    for b in bricks.values():
        if b.volume_id not in volumes:
            p.append(f"Brick {b.id} references unknown volume {b.volume_id}")
        if b.device_id not in devices:
            p.append(f"Brick {b.id} references unknown device {b.device_id}")
        if b.pending_op and b.pending_op not in ops:
            p.append(f"Brick {b.id} is pending on unknown operation {b.pending_op}")
    out["bricks"] = _section(len(bricks), sum(1 for b in bricks.values() if b.pending_op), p)

    p = []
    with_bricks = {b.volume_id for b in bricks.values()}
    for v in volumes.values():
        if v.cluster_id not in clusters:
            p.append(f"Volume {v.id} references unknown cluster {v.cluster_id}")
        if v.pending_op and v.pending_op not in ops:
            p.append(f"Volume {v.id} is pending on unknown operation {v.pending_op}")
        if v.id not in with_bricks:
            p.append(f"Volume {v.id} has no bricks")
    out["volumes"] = _section(len(volumes), sum(1 for v in volumes.values() if v.pending_op), p)

    out["blockvolumes"] = _section(0, 0, [])
    out["dbattributes"] = _section(0, 0, [])
    out["pendingoperations"] = _section(len(ops), 0, [])
    ordered = {k: out[k] for k in KINDS}
    ordered["totalinconsistencies"] = sum(len(v["inconsistencies"]) for v in out.values())
    return ordered
