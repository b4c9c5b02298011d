"""Drift examine and repair: gather the database and node views, plan with
``db.repair.plan`` (pure), and take the planned actions.

Every action is idempotent (a destroy treats "missing" as done, an adopt or a
forget of something already handled does nothing), so a repair interrupted
half-way is finished by running it again.  An action whose node commands fail
leaves the database as it was and is reported as failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Node, Volume
from pyketi.db.session import lock_row
from pyketi.db.repair import (NO_ACTION, DbBrick, DbVolume, Finding, NodeInventory,
                              describe, plan)
from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.executors import node_inventory as inv
from pyketi.operations import placement_db
from pyketi.operations.common import cluster_nodes, delete_volume_row
from pyketi.operations.executor_requests import brick_request


@dataclasses.dataclass
class _Snapshot:
    volumes: list[DbVolume]
    nodes: list[tuple[str, str, str, set[str]]]   # manage, storage, cluster, device ids
    hosts: dict[str, list[str]]                    # cluster -> manage hosts to ask gluster
    pending_bricks: set[str]


def _snapshot(s: Session) -> _Snapshot:
    nodes = {n.id: n for n in s.execute(select(Node).order_by(Node.id)).scalars()}
    devices: dict[str, set[str]] = {}
    for d in s.execute(select(Device)).scalars():
        devices.setdefault(d.node_id, set()).add(d.id)
    # every brick in one query (10,000 volumes were 10,000 queries), in table order as
    # the per-volume reads returned them
    bricks_of: dict[str, list] = {}
    for b in s.connection().execute(select(*Brick.__table__.c)):
        bricks_of.setdefault(b.volume_id, []).append(b)
    volumes, pending = [], set()
    for v in s.execute(select(Volume).order_by(Volume.id)).scalars():
        bricks = []
        for b in bricks_of.get(v.id, []):
            n = nodes[b.node_id]
            bricks.append(DbBrick(b.id, v.id, n.manage, n.storage, b.device_id, b.path,
                                  b.lvm_lv or f"brick_{b.id}", b.lvm_thin_pool,
                                  b.pending_op is not None))
            if b.pending_op is not None:
                pending.add(b.id)
        volumes.append(DbVolume(v.id, v.name, v.cluster_id, tuple(bricks),
                                v.pending_op is not None))
    hosts: dict[str, list[str]] = {}
    for n in nodes.values():
        if n.state == "online" and n.pending_op is None:
            hosts.setdefault(n.cluster_id, []).append(n.manage)
    listed = [(n.manage, n.storage, n.cluster_id, devices.get(n.id, set()))
              for n in nodes.values() if n.state != "failed" and n.pending_op is None]
    return _Snapshot(volumes, listed, hosts, pending)


async def _gluster_view(ex, hosts: list[str]) -> dict[str, list[str]] | None:
    for host in hosts:
        try:
            view = {}
            for name in await inv.volume_names(ex, host):
                info = await ex.volume_info(host, name)
                view[name] = [b.name for b in info.bricks]
            return view
        except ExecutorError:
            continue
    return None


async def _inventory(ex, host: str, storage: str, cluster: str,
                     devices: set[str]) -> NodeInventory:
    try:
        node = await inv.inventory(ex, host)
    except ExecutorError as e:
        node = NodeInventory(host=host, error=str(e) or type(e).__name__)
    node.storage, node.cluster_id, node.devices = storage, cluster, devices
    return node


async def examine(rt) -> list[Finding]:
    """Compare the database with gluster, LVM, mounts and fstab on every node."""
    snap = await rt.db.read(_snapshot)
    clusters = sorted({c for _m, _s, c, _d in snap.nodes} | set(snap.hosts))
    views = await asyncio.gather(*(_gluster_view(rt.executor, snap.hosts.get(c, []))
                                   for c in clusters))
    nodes = await asyncio.gather(*(_inventory(rt.executor, *n) for n in snap.nodes))
    return plan(snap.volumes, list(nodes), dict(zip(clusters, views)), snap.pending_bricks)


# -- actions ------------------------------------------------------------------

async def _destroy_on_nodes(rt, by_host: dict[str, list[dict]]) -> None:
    for host, reqs in by_host.items():
        await rt.executor.bricks_destroy(host, [_request(r) for r in reqs])


async def _forget_volume(rt, f: Finding) -> str:
    volume_id = f.args["volume"]

    def bricks(s: Session) -> dict[str, list[dict]] | None:
        v = s.get(Volume, volume_id)
        if v is None:
            return None
        nodes = cluster_nodes(s, v.cluster_id)
        out: dict[str, list[dict]] = {}
        for b in v.bricks:
            out.setdefault(nodes[b.node_id].manage, []).append(
                brick_request(b, nodes[b.node_id], v.gid))
        return out

    by_host = await rt.db.read(bricks)
    if by_host is None:
        return "already gone"
    await _destroy_on_nodes(rt, by_host)

    def forget(s: Session) -> None:
        v = s.get(Volume, volume_id)
        if v is not None:
            placement_db.release_bricks(s, list(v.bricks))
            s.flush()
            delete_volume_row(s, volume_id)
    await rt.db.write(forget)
    return "volume removed from the database, bricks destroyed"


async def _recreate_brick(rt, f: Finding) -> str:
    def load(s: Session) -> tuple[dict, str, str, str, str] | None:
        b = s.get(Brick, f.args["brick"])
        if b is None:
            return None
        node = s.get(Node, b.node_id)
        v = s.get(Volume, b.volume_id)
        return brick_request(b, node, v.gid), node.manage, node.storage, v.name, b.path

    found = await rt.db.read(load)
    if found is None:
        return "brick no longer in the database"
    req, host, storage, name, path = found
    brick = _request(req)
    await rt.executor.bricks_destroy(host, [brick])  # whatever is left of it
    await rt.executor.bricks_create(host, [brick])
    await inv.reset_brick(rt.executor, host, name, storage, path)
    return "brick created again and reset in gluster (self-heal refills it)"


def _per_set(v: Volume) -> int:
    dur = v.durability or {}
    kind = dur.get("type") or "none"
    if kind == "replicate":
        return (dur.get("replicate") or {}).get("replica") or 2
    if kind == "disperse":
        d = dur.get("disperse") or {}
        return (d.get("data") or 0) + (d.get("redundancy") or 0) or 1
    return 1


async def _adopt_brick(rt, f: Finding) -> str:
    a = f.args

    def adopt(s: Session) -> str:
        if s.get(Brick, a["brick"]) is not None:
            return "already in the database"
        v, device = s.get(Volume, a["volume"]), lock_row(s, Device, a["device"])
        if v is None or device is None:
            return "volume or device no longer in the database"
        index = int(a["index"])
        per_set = _per_set(v)
        tp, meta = int(a["tp_size"]), int(a["metadata"])
        s.add(Brick(id=a["brick"], volume_id=v.id, device_id=device.id, node_id=device.node_id,
                    path=a["spec"].partition(":")[2], size=int(a["size"]), tp_size=tp,
                    pool_metadata_size=meta, space=tp + meta,
                    lvm_thin_pool=f"tp_{a['brick']}", lvm_lv="",
                    set_index=index // per_set, position=index % per_set))
        s.flush()
        # the device's accounting follows its bricks (the lost row may or may not
        # have given its space back)
        device.used = sum(b.space for b in s.execute(
            select(Brick).where(Brick.device_id == device.id)).scalars())
        device.free = max(0, device.total - device.used)
        return "brick added to the database"
    return await rt.db.write(adopt)


async def _destroy_leftover(rt, f: Finding) -> str:
    a = f.args
    req = BrickRequest(id=a["brick"], device_id=a["device"], node_storage=f.host,
                       size_kib=1, tp_size_kib=1, pool_metadata_kib=1)
    await rt.executor.bricks_destroy(f.host, [req])
    return "leftovers destroyed"


# found only by looking at LVM, mounts and fstab (the gluster-only examine misses them)
NODE_KINDS = ("brick-lv-missing", "leftover-brick", "node-unreachable")

ACTIONS = {"forget-volume": _forget_volume, "recreate-brick": _recreate_brick,
           "adopt-brick": _adopt_brick, "destroy-leftover": _destroy_leftover}


def action_name(f: Finding) -> str:
    return f.action.split(":", 1)[0]


async def apply(rt, findings: list[Finding]) -> list[dict[str, Any]]:
    """Take each finding's action; one result per finding (``ok``, ``result``)."""
    results = []
    for f in findings:
        entry: dict[str, Any] = {"finding": f.line(), "action": action_name(f)}
        fn = ACTIONS.get(action_name(f))
        if fn is None or f.action == NO_ACTION:
            entry.update(ok=True, result="nothing to do (reported only)")
        else:
            try:
                entry.update(ok=True, result=await fn(rt, f))
            except ExecutorError as e:
                entry.update(ok=False, result=f"failed: {e}")
        results.append(entry)
    return results


def report(findings: list[Finding]) -> list[str]:
    return describe(findings)


def _request(req: BrickRequest | dict) -> BrickRequest:
    return req if isinstance(req, BrickRequest) else BrickRequest(**req)
