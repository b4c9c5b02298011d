"""Reads behind the HTTP API: each function takes a session and returns plain data
(heketi's JSON shapes from ``pyketi.shapes``) or rows; handlers never build queries.

A read that a speed target depends on (``GET /volumes``, info, ``/db/dump``)
is changed here, not in the handler.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyketi import shapes
from pyketi.db import statements as sql
from pyketi.db.models import Brick, Cluster, Device, Node, Operation, Volume
from pyketi.ids import is_valid_id


# -- clusters ---------------------------------------------------------------

def cluster_ids(s: Session) -> list[str]:
    return list(s.execute(select(Cluster.id).order_by(Cluster.id)).scalars())


def cluster_info(s: Session, c: Cluster) -> dict:
    nodes = s.execute(select(Node.id).where(Node.cluster_id == c.id, Node.pending_op.is_(None))
                      .order_by(Node.id)).scalars().all()
    volumes = s.execute(select(Volume.id).where(Volume.cluster_id == c.id,
                                                Volume.pending_op.is_(None))
                        .order_by(Volume.id)).scalars().all()
    return shapes.cluster_info(c, list(nodes), list(volumes))


def cluster(s: Session, cluster_id: str) -> dict | None:
    c = s.get(Cluster, cluster_id)
    return None if c is None else cluster_info(s, c)


def missing_cluster(s: Session, requested: list[str],
                    known: list[str] | None = None) -> str | None:
    """heketi's order: no cluster at all → "" ; else the first requested id not found.
    ``known``: every cluster id, when the caller has read them already."""
    if known is None:
        known = list(s.connection().execute(sql.CLUSTER_IDS).scalars())
    if not known:
        return ""
    for cid in requested:
        if not is_valid_id(cid) or cid not in known:
            return cid
    return None


def cluster_storage_hosts(s: Session, cluster_id: str) -> list[str]:
    nodes = sorted(sql.cluster_nodes(s.connection(), cluster_id).values(), key=lambda n: n.id)
    return [n.storage for n in nodes if n.pending_op is None]


# -- nodes and devices --------------------------------------------------------

def node(s: Session, node_id: str) -> dict | None:
    n = s.get(Node, node_id)
    return None if n is None or n.pending_op is not None else shapes.node_info(n)


def device(s: Session, device_id: str) -> dict | None:
    d = s.get(Device, device_id)
    return None if d is None or d.pending_op is not None else shapes.device_info(d)


# -- volumes ------------------------------------------------------------------

def volume_ids(s: Session) -> list[str]:
    return list(s.execute(select(Volume.id).where(Volume.pending_op.is_(None))
                          .order_by(Volume.id)).scalars())


def volume(s: Session, volume_id: str) -> dict | None:
    """A volume's info (rows, not ORM objects: ``GET /volumes/{id}`` is the most
    frequent read, once per volume for ``topology info``)."""
    conn = s.connection()
    v = sql.volume_row(conn, volume_id)
    if v is None or v.pending_op is not None:
        return None
    return shapes.volume_info(v, sql.volume_bricks(conn, volume_id),
                              cluster_storage_hosts(s, v.cluster_id))


def volume_creator(s: Session, volume_id: str) -> str | None:
    """The role that created the volume (None: unknown volume)."""
    return s.execute(select(Volume.created_by).where(Volume.id == volume_id)).scalar()


def gluster_view(s: Session) -> tuple[dict[str, list[str]], list[tuple]]:
    """What ``gluster volume info`` should show: online manage hosts per cluster, and
    (cluster, volume id, name, sorted ``storage:path`` bricks) per visible volume."""
    conn = s.connection()  # one query per table: 10,000 volumes were 10,000 brick queries
    hosts: dict[str, list[str]] = {}
    storage: dict[str, str] = {}
    for node_id, cluster_id, state, manage, stored in conn.execute(
            select(Node.id, Node.cluster_id, Node.state, Node.manage_hostnames,
                   Node.storage_hostnames).order_by(Node.id)):
        storage[node_id] = stored[0]
        if state == "online":
            hosts.setdefault(cluster_id, []).append(manage[0])
    bricks_of: dict[str, list[str]] = {}
    for volume_id, node_id, path in conn.execute(
            select(Brick.volume_id, Brick.node_id, Brick.path)):
        bricks_of.setdefault(volume_id, []).append(f"{storage[node_id]}:{path}")
    volumes = [(cluster_id, volume_id, name, sorted(bricks_of.get(volume_id, [])))
               for cluster_id, volume_id, name in conn.execute(
                   select(Volume.cluster_id, Volume.id, Volume.name)
                   .where(Volume.pending_op.is_(None)).order_by(Volume.id))]
    return hosts, volumes


# -- counts for /metrics --------------------------------------------------------

def topology_counts(s: Session) -> dict:
    """What ``/metrics`` reports of the topology, with counting queries (no object per
    volume or brick): ``clusters`` (ids), ``volumes`` and ``block_volumes`` per
    cluster, settled ``nodes`` per cluster and settled ``devices`` per node (rows,
    by id), ``bricks`` per device (all of its bricks)."""
    conn = s.connection()
    settled_volumes = Volume.pending_op.is_(None)
    block_volumes: dict[str, set[str]] = {}
    for cluster_id, info in conn.execute(select(Volume.cluster_id, Volume.blockinfo)
                                         .where(settled_volumes, Volume.block.is_(True))):
        block_volumes.setdefault(cluster_id, set()).update((info or {}).get("blockvolume")
                                                           or [])
    nodes: dict[str, list] = {}
    for n in conn.execute(select(*Node.__table__.c).where(Node.pending_op.is_(None))
                          .order_by(Node.id)):
        nodes.setdefault(n.cluster_id, []).append(sql.NodeRow(
            n.id, n.zone, n.state, n.pending_op, n.manage_hostnames, n.storage_hostnames,
            n.tags))
    devices: dict[str, list] = {}
    for d in conn.execute(select(*Device.__table__.c).where(Device.pending_op.is_(None))
                          .order_by(Device.id)):
        devices.setdefault(d.node_id, []).append(d)
    return {
        "clusters": list(conn.execute(sql.CLUSTER_IDS).scalars()),
        "volumes": dict(conn.execute(select(Volume.cluster_id, func.count())
                                     .where(settled_volumes).group_by(Volume.cluster_id)
                                     ).all()),
        "block_volumes": {cid: len(ids) for cid, ids in block_volumes.items()},
        "nodes": nodes, "devices": devices,
        "bricks": dict(conn.execute(select(Brick.device_id, func.count())
                                    .group_by(Brick.device_id)).all())}


# -- operations ---------------------------------------------------------------

def operations(s: Session) -> list[Operation]:
    return list(s.execute(select(Operation).order_by(Operation.id)).scalars())


def operation(s: Session, op_id: str) -> Operation | None:
    return s.get(Operation, op_id)


def operation_statuses(s: Session) -> list[str]:
    return list(s.execute(select(Operation.status)).scalars())
