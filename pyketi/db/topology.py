"""The whole topology in heketi's ``topology info`` shape, read in one snapshot.

``{"clusters": [{"volumes": [VolumeInfo...], "nodes": [NodeInfo...], "id", "block",
"file"}]}``: what heketi's client composes from ``GET /clusters``, then each cluster,
volume and node, one request per object (``client/api/go-client/topology.go``);
read here with one query per table for ``GET /topology``.  Each brick's info is
built once and shared by its volume and its device; a volume's JSON columns are
decoded once per distinct value.  ``chunks`` encodes the reply volume by volume, so
10,000 volumes never exist as dicts all at once.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, String, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from pyketi import shapes
from pyketi.db.chunks import SIZE, utf8_chunks
from pyketi.db.models import Brick, Cluster, Device, Node, Volume

_JSON_COLUMNS = ("durability", "options", "blockinfo", "request_clusters")
# the volume columns, JSON ones as stored (SQLite: text; PostgreSQL's driver decodes them)
_VOLUME_RAW = tuple(type_coerce(c, String) if c.name in _JSON_COLUMNS else c
                    for c in Volume.__table__.c)
_VolumeRow = namedtuple("_VolumeRow", [c.name for c in Volume.__table__.c])  # type: ignore[misc]
_JSON_AT = tuple(i for i, c in enumerate(Volume.__table__.c) if c.name in _JSON_COLUMNS)


class _Decoded(dict):
    """JSON texts decoded once each: 10,000 volumes share a handful of values."""

    def of(self, stored: Any) -> Any:
        if not isinstance(stored, str):
            return stored
        value = self.get(stored)
        if value is None:
            value = self[stored] = json.loads(stored)
        return value


def _volume_row(row: Any, decoded: _Decoded) -> Any:
    values = list(row)
    for i in _JSON_AT:
        values[i] = decoded.of(values[i])
    return _VolumeRow._make(values)


class _Cluster:
    """One cluster of the snapshot: ``volumes()`` builds its volumes' infos lazily."""

    def __init__(self, row: Any, volumes: list, nodes: list, infos_of_volume: dict,
                 infos_of_device: dict, devices_of_node: dict):
        self.id, self.block, self.file = row.id, row.block, row.file
        self._volumes, self._infos_of_volume = volumes, infos_of_volume
        self._hosts = [n.storage_hostnames[0] for n in nodes]
        self.nodes = [shapes.node_info(n, devices_of_node.get(n.id, []), infos_of_device)
                      for n in nodes]

    def volumes(self) -> Iterator[dict]:
        for v in self._volumes:
            yield shapes.volume_info(v, [], self._hosts,
                                     brick_infos=self._infos_of_volume.get(v.id, []))


_BRICKS = select(Brick.id, Brick.path, Brick.device_id, Brick.node_id, Brick.volume_id,
                 Brick.size, Brick.pending_op)
_VOLUMES = select(*_VOLUME_RAW).where(Volume.pending_op.is_(None))


def _by_id(conn: Connection, stmt: Select, id_column: Any) -> list:
    """The rows in id order.  SQLite sorts by walking the id index and fetching each
    row from the table (30,000 bricks: twice the time of reading them in table order
    and sorting here); its order of text is by bytes, as Python's of ASCII ids.
    PostgreSQL sorts by the database's collation: it keeps its ``ORDER BY``."""
    if conn.dialect.name != "sqlite":
        return conn.execute(stmt.order_by(id_column)).all()
    rows = conn.execute(stmt).all()
    rows.sort(key=itemgetter(0))
    return rows


def _clusters(s: Session) -> list[_Cluster]:
    conn = s.connection()
    brick_fields = shapes.brick_fields
    infos_of_volume: dict[str, list[dict]] = {}
    infos_of_device: dict[str, list[dict]] = {}
    for bid, path, did, nid, vid, size, pending in _by_id(conn, _BRICKS, Brick.id):
        info = brick_fields(bid, path, did, nid, vid, size)
        infos_of_volume.setdefault(vid, []).append(info)
        if pending is None:
            infos_of_device.setdefault(did, []).append(info)
    devices_of_node: dict[str, list] = {}
    for d in conn.execute(select(*Device.__table__.c).where(Device.pending_op.is_(None))):
        devices_of_node.setdefault(d.node_id, []).append(d)
    nodes_of_cluster: dict[str, list] = {}
    for n in conn.execute(select(*Node.__table__.c).where(Node.pending_op.is_(None))
                          .order_by(Node.id)):
        nodes_of_cluster.setdefault(n.cluster_id, []).append(n)
    volumes_of_cluster: dict[str, list] = {}
    decoded = _Decoded()
    for v in _by_id(conn, _VOLUMES, Volume.id):
        volumes_of_cluster.setdefault(v.cluster_id, []).append(_volume_row(v, decoded))
    return [_Cluster(c, volumes_of_cluster.get(c.id, []), nodes_of_cluster.get(c.id, []),
                     infos_of_volume, infos_of_device, devices_of_node)
            for c in conn.execute(select(Cluster.id, Cluster.block, Cluster.file)
                                  .order_by(Cluster.id))]


def topology(s: Session) -> dict:
    """The topology as one dict."""
    return {"clusters": [{"volumes": list(c.volumes()), "nodes": c.nodes, "id": c.id,
                          "block": c.block, "file": c.file} for c in _clusters(s)]}


# heketi's compact JSON (``api.responses.dumps`` without the newline); one encoder for
# every call (``json.dumps`` with options builds a new one each time)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _pieces(s: Session) -> Iterator[str]:
    yield '{"clusters":['
    for i, c in enumerate(_clusters(s)):
        yield ',{"volumes":[' if i else '{"volumes":['
        for j, volume in enumerate(c.volumes()):
            yield "," + _encode(volume) if j else _encode(volume)
        yield (f'],"nodes":{_encode(c.nodes)},"id":{_encode(c.id)},'
               f'"block":{_encode(c.block)},"file":{_encode(c.file)}}}')
    yield "]}\n"


def chunks(s: Session, size: int = SIZE) -> list[bytes]:
    """``GET /topology``'s body (compact JSON + newline) in UTF-8 chunks: the same
    bytes as ``api.responses.dumps(topology(s))``."""
    return utf8_chunks(_pieces(s), size)
