"""JSON shapes of heketi's API responses, field order and omission rules included
(``pkg/glusterfs/api/types.go``; Go ``omitempty`` never drops struct fields).

Below both ``api/`` (replies) and ``db/`` (heketi's export format): pure functions
of rows already read, no queries (those are in ``db/queries.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyketi.db.models import Brick, Cluster, Device, Node, Volume


def number(value: float) -> float | int:
    """Go prints float32 shortest-form: 1 not 1.0."""
    return int(value) if float(value).is_integer() else value


def brick_info(b: Brick) -> dict:
    return brick_fields(b.id, b.path, b.device_id, b.node_id, b.volume_id, b.size)


def brick_fields(brick_id: str, path: str, device_id: str, node_id: str, volume_id: str,
                 size: int) -> dict:
    return {"id": brick_id, "path": path, "device": device_id, "node": node_id,
            "volume": volume_id, "size": size}


def device_info(d: Device, bricks: list[Brick] | None = None, *,
                brick_infos: list[dict] | None = None) -> dict:
    """``brick_infos``: the bricks already in ``brick_info`` shape, settled ones only,
    sorted by id (a bulk read builds each brick's once)."""
    out: dict = {"name": d.name}
    if d.tags:
        out["tags"] = dict(d.tags)
    out["storage"] = {"total": d.total, "free": d.free, "used": d.used}
    out["id"] = d.id
    if d.paths:
        out["paths"] = list(d.paths)
    if d.pv_uuid:
        out["pv_uuid"] = d.pv_uuid
    out["state"] = d.state
    if brick_infos is not None:
        out["bricks"] = brick_infos
        return out
    src = d.bricks if bricks is None else bricks
    out["bricks"] = [brick_info(b) for b in sorted(src, key=lambda b: b.id)
                     if b.pending_op is None]
    return out


def node_info(n: Node, devices: list[Device] | None = None,
              brick_infos_of: dict[str, list[dict]] | None = None) -> dict:
    """``brick_infos_of``: device id -> ``device_info``'s ``brick_infos`` (rows instead
    of ORM objects)."""
    out: dict = {"zone": n.zone,
                 "hostnames": {"manage": list(n.manage_hostnames),
                               "storage": list(n.storage_hostnames)},
                 "cluster": n.cluster_id}
    if n.tags:
        out["tags"] = dict(n.tags)
    out["id"] = n.id
    out["state"] = n.state
    src = n.devices if devices is None else devices
    out["devices"] = [
        device_info(d) if brick_infos_of is None else
        device_info(d, brick_infos=brick_infos_of.get(d.id, []))
        for d in sorted(src, key=lambda d: d.id) if d.pending_op is None]
    return out


def cluster_info(c: Cluster, node_ids: list[str], volume_ids: list[str]) -> dict:
    return {"id": c.id, "nodes": list(node_ids), "volumes": list(volume_ids),
            "block": c.block, "file": c.file, "blockvolumes": []}


def mount_info(storage_hosts: list[str], name: str) -> dict:
    """Recomputed on every read from all cluster nodes' storage[0], sorted by node id."""
    hosts = list(storage_hosts)
    return {"glusterfs": {"hosts": hosts,
                          "device": f"{hosts[0]}:{name}" if hosts else f":{name}",
                          "options": {"backup-volfile-servers": ",".join(hosts[1:])}}}


def durability(d: dict) -> dict:
    return {"type": d.get("type") or "none",
            "replicate": dict(d.get("replicate") or {}),
            "disperse": dict(d.get("disperse") or {})}


def volume_info(v: Volume, bricks: list[Brick], storage_hosts: list[str],
                export: bool = False, *, brick_infos: list[dict] | None = None) -> dict:
    """``brick_infos``: as for ``device_info`` (all the volume's bricks)."""
    out: dict = {"size": v.size}
    if export and v.request_clusters:
        out["clusters"] = list(v.request_clusters)
    out["name"] = v.name
    out["durability"] = durability(v.durability or {})
    if v.gid:
        out["gid"] = v.gid
    if v.options and not export:
        out["glustervolumeoptions"] = list(v.options)
    if v.block:
        out["block"] = True
    out["snapshot"] = {"enable": v.snapshot_enable, "factor": number(v.snapshot_factor)}
    out["id"] = v.id
    out["cluster"] = v.cluster_id
    out["mount"] = mount_info(storage_hosts, v.name)
    out["blockinfo"] = blockinfo(v.blockinfo or {})
    if export:
        return out
    if brick_infos is not None:
        out["bricks"] = brick_infos
    else:
        out["bricks"] = [brick_info(b) for b in sorted(bricks, key=lambda b: b.id)]
    return out


def blockinfo(info: dict) -> dict:
    out: dict = {}
    if not info:
        return out
    for key in ("freesize", "reservedsize", "blockvolume", "restriction"):
        if info.get(key):
            out[key] = info[key]
    return out
