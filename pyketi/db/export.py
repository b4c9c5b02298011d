"""heketi's JSON export format (``heketi db export``, ``GET /db/dump``, spec §7.2).

``dump`` writes it from the SQL store; ``load`` reads heketi's (or pyketi's)
export into an empty database, so a heketi BoltDB exported with
``heketi db export`` moves to pyketi without touching the nodes, and an export of
pyketi's goes back into ``heketi db import`` (it holds only what heketi's format knows).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.queries import cluster_info
from pyketi.db.models import (Attribute, Brick, Cluster, Device, Hostname, Node, Operation,
                              Volume)
from pyketi.ids import is_valid_id, new_id
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
    out: dict[str, Any] = {"clusterentries": {}, "volumeentries": {}, "brickentries": {},
                           "nodeentries": {}, "deviceentries": {}, "blockvolumeentries": {},
                           "dbattributeentries": {}, "pendingoperations": {}}
    for c in s.execute(select(Cluster).order_by(Cluster.id)).scalars():
        out["clusterentries"][c.id] = {"Info": cluster_info(s, c)}
    hosts: dict[str, list[str]] = {}
    for n in s.execute(select(Node).order_by(Node.id)).scalars():
        hosts.setdefault(n.cluster_id, []).append(n.storage)
        info = {"zone": n.zone, "hostnames": {"manage": n.manage_hostnames,
                                              "storage": n.storage_hostnames},
                "cluster": n.cluster_id}
        if n.tags:
            info["tags"] = n.tags
        info["id"] = n.id
        out["nodeentries"][n.id] = {"State": n.state, "Info": info,
                                    "Devices": sorted(d.id for d in n.devices)}
    for d in s.execute(select(Device).order_by(Device.id)).scalars():
        info = device_info(d)
        info.pop("state")
        info.pop("bricks")
        out["deviceentries"][d.id] = {"State": d.state, "Info": info,
                                      "Bricks": sorted(b.id for b in d.bricks),
                                      "NodeId": d.node_id, "ExtentSize": d.extent_size}
    for v in s.execute(select(Volume).order_by(Volume.id)).scalars():
        info = volume_info(v, [], hosts.get(v.cluster_id, []), export=True)
        out["volumeentries"][v.id] = {"Info": info, "Bricks": sorted(b.id for b in v.bricks),
                                      "GlusterVolumeOptions": list(v.options),
                                      "Pending": _pending(v.pending_op)}
    for b in s.execute(select(Brick).order_by(Brick.id)).scalars():
        out["brickentries"][b.id] = {
            "Info": {"id": b.id, "path": b.path, "device": b.device_id, "node": b.node_id,
                     "volume": b.volume_id, "size": b.size},
            "TpSize": b.tp_size, "PoolMetadataSize": b.pool_metadata_size,
            "Pending": _pending(b.pending_op), "LvmThinPool": b.lvm_thin_pool,
            "LvmLv": b.lvm_lv, "SubType": b.subtype}
    attrs = dict(DEFAULT_ATTRIBUTES)
    attrs.update({a.key: a.value for a in s.execute(select(Attribute)).scalars()
                  if a.key in HEKETI_ATTRIBUTES})
    for key, value in sorted(attrs.items()):
        out["dbattributeentries"][key] = {"Key": key, "Value": value}
    for op in s.execute(select(Operation).order_by(Operation.id)).scalars():
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
    for vid, entry in volumes.items():
        info = _req(entry, "Info", f"volumeentries.{vid}")
        snap = info.get("snapshot") or {}
        s.add(Volume(id=_id(vid), cluster_id=info["cluster"], name=info["name"],
                     size=int(info["size"]), durability=info.get("durability") or {"type": "none"},
                     gid=int(info.get("gid", 0)),
                     options=list(entry.get("GlusterVolumeOptions") or []),
                     block=bool(info.get("block", False)), blockinfo=info.get("blockinfo") or {},
                     snapshot_enable=bool(snap.get("enable", False)),
                     snapshot_factor=float(snap.get("factor", 1) or 1),
                     request_clusters=list(info.get("clusters") or []),
                     # heketi's format has no creator: only admin may change imported ones
                     created_by="admin"))
    counts["volumes"] = len(volumes)
    s.flush()
    bricks = data.get("brickentries") or {}
    for bid, entry in bricks.items():
        info = _req(entry, "Info", f"brickentries.{bid}")
        tp = int(entry.get("TpSize") or info["size"])
        meta = int(entry.get("PoolMetadataSize") or 0)
        s.add(Brick(id=_id(bid), volume_id=info["volume"], device_id=info["device"],
                    node_id=info["node"],
                    path=info.get("path") or brick_path(info["device"], bid),
                    size=int(info["size"]), tp_size=tp, pool_metadata_size=meta,
                    space=tp + meta, lvm_thin_pool=entry.get("LvmThinPool") or f"tp_{bid}",
                    lvm_lv=entry.get("LvmLv", ""), subtype=int(entry.get("SubType") or 1)))
    counts["bricks"] = len(bricks)
    _order_bricks(s)
    s.merge(Attribute(key="DB_GENERATION_ID", value=new_id()))
    return counts


def _order_bricks(s: Session) -> None:
    """An export keeps no brick-set order; bricks sorted by id form the sets."""
    s.flush()
    for v in s.execute(select(Volume)).scalars():
        dur = v.durability or {}
        per_set = 1
        if dur.get("type") == "replicate":
            per_set = (dur.get("replicate") or {}).get("replica") or 2
        elif dur.get("type") == "disperse":
            d = dur.get("disperse") or {}
            per_set = d.get("data", 0) + d.get("redundancy", 0) or 1
        for i, b in enumerate(sorted(v.bricks, key=lambda b: b.id)):
            b.set_index, b.position = divmod(i, per_set)


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise ImportError_(f"invalid id {value!r}")
    return value



