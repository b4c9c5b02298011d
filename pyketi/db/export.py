"""heketi's JSON export format (``heketi db export``, ``GET /db/dump``, spec §7.2).

``dump`` writes it from the SQL store; ``load`` reads heketi's (or pyketi's)
export into an empty database, so a heketi BoltDB exported with
``heketi db export`` moves to pyketi without touching the nodes, and an export of
pyketi's goes back into ``heketi db import`` (it holds only what heketi's format knows).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pyketi.db.models import (Attribute, Brick, Cluster, Device, Hostname, Node, Operation,
                              Volume)
from pyketi.ids import is_valid_id, new_id
from pyketi import shapes
from pyketi.shapes import device_info, volume_info
from pyketi.node_paths import brick_path

CHANGE_CODES = {"Add brick": 1, "Add volume": 2, "Delete brick": 3, "Delete volume": 4,
                "Expand volume": 5, "Remove device": 8, "Clone volume from": 9,
                "Snapshot volume": 10}
TYPE_CODES = {"create-volume": 1, "delete-volume": 2, "expand-volume": 3, "remove-device": 6,
              "clone-volume": 7, "evict-brick": 8}
DEFAULT_ATTRIBUTES = {"DB_BRICK_HAS_SUBTYPE_FIELD": "yes", "DB_CLUSTER_HAS_FILE_BLOCK_FLAG": "yes",
                      "DB_HAS_PENDING_OPS_BUCKET": "yes", "DB_DEVICE_HAS_ID_META": "yes"}
# the only dbattribute keys heketi knows: any other key makes heketi's ``db import`` and its
# start-up refuse the database ("unknown dbattribute key"), so an export holds no other
HEKETI_ATTRIBUTES = frozenset(DEFAULT_ATTRIBUTES) | {"DB_GENERATION_ID"}


class ImportError_(Exception):
    pass


def _pending(obj_op: str | None) -> dict:
    return {"Id": obj_op or ""}


def dump(s: Session) -> dict[str, Any]:
    """The export of the whole database: one query per table (rows, not ORM objects),
    so 10,000 volumes are not 10,000 lazy loads of their bricks.  ``GET /db/dump``
    writes the same export as text with ``export_text.dump_text``."""
    conn = s.connection()
    bricks = conn.execute(ALL_BRICKS).all()
    nodes = conn.execute(ALL_NODES).all()
    volumes = conn.execute(ALL_VOLUMES).all()
    small = small_sections(s, bricks, nodes, volumes)
    out: dict[str, Any] = {"clusterentries": small["clusterentries"], "volumeentries": {},
                           "brickentries": {}}
    bricks_of_volume: dict[str, list[str]] = {}
    for b in bricks:  # ids in order: each list comes out sorted
        bricks_of_volume.setdefault(b.volume_id, []).append(b.id)
    hosts: dict[str, list[str]] = {}
    for n in nodes:
        hosts.setdefault(n.cluster_id, []).append(n.storage_hostnames[0])
    for v in volumes:
        info = volume_info(v, [], hosts.get(v.cluster_id, []), export=True)
        out["volumeentries"][v.id] = {"Info": info, "Bricks": bricks_of_volume.get(v.id, []),
                                      "GlusterVolumeOptions": list(v.options),
                                      "Pending": _pending(v.pending_op)}
    for b in bricks:
        out["brickentries"][b.id] = {
            "Info": {"id": b.id, "path": b.path, "device": b.device_id, "node": b.node_id,
                     "volume": b.volume_id, "size": b.size},
            "TpSize": b.tp_size, "PoolMetadataSize": b.pool_metadata_size,
            "Pending": _pending(b.pending_op), "LvmThinPool": b.lvm_thin_pool,
            "LvmLv": b.lvm_lv, "SubType": b.subtype}
    for key in ("nodeentries", "deviceentries", "blockvolumeentries", "dbattributeentries",
                "pendingoperations"):
        out[key] = small[key]
    return out


# statements built once (building one and its cache key costs more than SQLite takes
# to run it on a small database: /db/dump is read after every write of a busy client)
ALL_BRICKS = select(*Brick.__table__.c).order_by(Brick.id)
ALL_NODES = select(*Node.__table__.c).order_by(Node.id)
ALL_VOLUMES = select(*Volume.__table__.c).order_by(Volume.id)
_DEVICES = select(*Device.__table__.c).order_by(Device.id)
_CLUSTERS = select(Cluster.id, Cluster.block, Cluster.file).order_by(Cluster.id)
_ATTRIBUTES = select(Attribute.key, Attribute.value)
_OPERATIONS = select(Operation.id, Operation.created_at, Operation.type, Operation.changes,
                     Operation.status).order_by(Operation.id)


def small_sections(s: Session, bricks: list, nodes: list, volumes: list
                   ) -> dict[str, dict[str, Any]]:
    """The sections of the export with few entries (all but volumes and bricks), from
    the brick, node and volume rows already read (ordered by id)."""
    conn = s.connection()
    out: dict[str, dict[str, Any]] = {
        "clusterentries": {}, "nodeentries": {}, "deviceentries": {},
        "blockvolumeentries": {}, "dbattributeentries": {}, "pendingoperations": {}}
    bricks_of_device: dict[str, list[str]] = {}
    for b in bricks:
        bricks_of_device.setdefault(b.device_id, []).append(b.id)
    devices = conn.execute(_DEVICES).all()
    devices_of_node: dict[str, list[str]] = {}
    for d in devices:
        devices_of_node.setdefault(d.node_id, []).append(d.id)
    # a cluster's info lists its settled nodes and volumes (queries.cluster_info)
    settled_nodes: dict[str, list[str]] = {}
    for n in nodes:
        if n.pending_op is None:
            settled_nodes.setdefault(n.cluster_id, []).append(n.id)
    settled_volumes: dict[str, list[str]] = {}
    for v in volumes:
        if v.pending_op is None:
            settled_volumes.setdefault(v.cluster_id, []).append(v.id)
    for c in conn.execute(_CLUSTERS):
        out["clusterentries"][c.id] = {"Info": shapes.cluster_info(
            c, settled_nodes.get(c.id, []), settled_volumes.get(c.id, []))}
    for n in nodes:
        info = {"zone": n.zone, "hostnames": {"manage": n.manage_hostnames,
                                              "storage": n.storage_hostnames},
                "cluster": n.cluster_id}
        if n.tags:
            info["tags"] = n.tags
        info["id"] = n.id
        out["nodeentries"][n.id] = {"State": n.state, "Info": info,
                                    "Devices": devices_of_node.get(n.id, [])}
    for d in devices:
        info = device_info(d, [])
        info.pop("state")
        info.pop("bricks")
        out["deviceentries"][d.id] = {"State": d.state, "Info": info,
                                      "Bricks": bricks_of_device.get(d.id, []),
                                      "NodeId": d.node_id, "ExtentSize": d.extent_size}
    attrs = dict(DEFAULT_ATTRIBUTES)
    attrs.update({key: value for key, value in conn.execute(_ATTRIBUTES)
                  if key in HEKETI_ATTRIBUTES})
    for key, value in sorted(attrs.items()):
        out["dbattributeentries"][key] = {"Key": key, "Value": value}
    for op in conn.execute(_OPERATIONS):
        out["pendingoperations"][op.id] = {
            "Id": op.id, "Timestamp": int(op.created_at), "Type": TYPE_CODES.get(op.type, 0),
            "Actions": [{"Change": CHANGE_CODES.get(c["description"], 0), "Id": c["id"],
                         "Delta": None} for c in op.changes],
            "Status": op.status}
    return out


def _req(entry: dict, key: str, where: str) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise ImportError_(f"{where}: missing {key!r}")
    return entry[key]


def load(s: Session, data: dict[str, Any]) -> dict[str, int]:
    """Import an export into an empty database. Returns counts per object kind."""
    if s.execute(select(Cluster.id).limit(1)).first():
        raise ImportError_("the database is not empty; import needs an empty database")
    if not isinstance(data, dict):
        raise ImportError_("top level must be an object")
    if data.get("pendingoperations"):
        raise ImportError_("the export has pending operations; clean them up "
                           "(heketi offline cleanup-operations) before importing")
    counts = {}
    clusters = data.get("clusterentries") or {}
    for cid, entry in clusters.items():
        info = _req(entry, "Info", f"clusterentries.{cid}")
        s.add(Cluster(id=_id(cid), block=bool(info.get("block", False)),
                      file=bool(info.get("file", False))))
    counts["clusters"] = len(clusters)
    s.flush()
    nodes = data.get("nodeentries") or {}
    for nid, entry in nodes.items():
        info = _req(entry, "Info", f"nodeentries.{nid}")
        hn = info.get("hostnames") or {}
        s.add(Node(id=_id(nid), cluster_id=info["cluster"], zone=int(info.get("zone", 1)),
                   manage_hostnames=list(hn.get("manage") or []),
                   storage_hostnames=list(hn.get("storage") or []),
                   tags=dict(info.get("tags") or {}), state=entry.get("State", "online")))
        s.flush()
        for kind in ("manage", "storage"):
            for h in hn.get(kind) or []:
                s.add(Hostname(kind=kind, hostname=h, node_id=nid))
    counts["nodes"] = len(nodes)
    s.flush()
    devices = data.get("deviceentries") or {}
    for did, entry in devices.items():
        info = _req(entry, "Info", f"deviceentries.{did}")
        st = info.get("storage") or {}
        s.add(Device(id=_id(did), node_id=entry["NodeId"], name=info["name"],
                     tags=dict(info.get("tags") or {}), state=entry.get("State", "online"),
                     total=int(st.get("total", 0)), free=int(st.get("free", 0)),
                     used=int(st.get("used", 0)), extent_size=int(entry.get("ExtentSize")
                                                                  or 4096),
                     pv_uuid=info.get("pv_uuid", ""), paths=list(info.get("paths") or [])))
    counts["devices"] = len(devices)
    s.flush()
    volumes = data.get("volumeentries") or {}
    per_set: dict[str, int] = {}
    volume_rows = []
    for vid, entry in volumes.items():
        info = _req(entry, "Info", f"volumeentries.{vid}")
        snap = info.get("snapshot") or {}
        durability = info.get("durability") or {"type": "none"}
        per_set[vid] = _bricks_per_set(durability)
        volume_rows.append(dict(
            id=_id(vid), cluster_id=info["cluster"], name=info["name"], size=int(info["size"]),
            durability=durability, gid=int(info.get("gid", 0)),
            options=list(entry.get("GlusterVolumeOptions") or []),
            block=bool(info.get("block", False)), blockinfo=info.get("blockinfo") or {},
            snapshot_enable=bool(snap.get("enable", False)),
            snapshot_factor=float(snap.get("factor", 1) or 1),
            request_clusters=list(info.get("clusters") or []),
            # heketi's format has no creator: only admin may change imported ones
            created_by="admin", pending_op=None, busy_op=None, created_at=time.time()))
    counts["volumes"] = len(volumes)
    bricks = data.get("brickentries") or {}
    brick_rows = []
    for bid, entry in bricks.items():
        info = _req(entry, "Info", f"brickentries.{bid}")
        tp = int(entry.get("TpSize") or info["size"])
        meta = int(entry.get("PoolMetadataSize") or 0)
        brick_rows.append(dict(
            id=_id(bid), volume_id=info["volume"], device_id=info["device"],
            node_id=info["node"], path=info.get("path") or brick_path(info["device"], bid),
            size=int(info["size"]), tp_size=tp, pool_metadata_size=meta, space=tp + meta,
            lvm_thin_pool=entry.get("LvmThinPool") or f"tp_{bid}",
            lvm_lv=entry.get("LvmLv", ""), subtype=int(entry.get("SubType") or 1),
            pending_op=None, set_index=0, position=0))
    counts["bricks"] = len(bricks)
    _order_bricks(brick_rows, per_set)
    conn = s.connection()  # thousands of rows: Core inserts, not ORM objects
    if volume_rows:
        conn.execute(insert(Volume), volume_rows)
    if brick_rows:
        conn.execute(insert(Brick), brick_rows)
    s.merge(Attribute(key="DB_GENERATION_ID", value=new_id()))
    return counts


def _bricks_per_set(durability: dict) -> int:
    if durability.get("type") == "replicate":
        return (durability.get("replicate") or {}).get("replica") or 2
    if durability.get("type") == "disperse":
        d = durability.get("disperse") or {}
        return d.get("data", 0) + d.get("redundancy", 0) or 1
    return 1


def _order_bricks(rows: list[dict], per_set: dict[str, int]) -> None:
    """An export keeps no brick-set order; bricks sorted by id form the sets."""
    by_volume: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        by_volume.setdefault(row["volume_id"], []).append(row)
    for volume_id, bricks in by_volume.items():
        for i, row in enumerate(bricks):
            row["set_index"], row["position"] = divmod(i, per_set.get(volume_id, 1))


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise ImportError_(f"invalid id {value!r}")
    return value



