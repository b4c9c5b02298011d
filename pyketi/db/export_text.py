"""heketi's export (``GET /db/dump``) written as text straight from rows.

The same bytes as ``json.dumps(export.dump(s), indent=4, ensure_ascii=False) + "\\n"``
(``tests/db/test_export_text.py`` compares them), without the dict of every object
in between: Python's ``json`` has no C encoder for indented output, and with
10,000 volumes (30,000 bricks) building that dict and indenting it took seconds and
over 300 MiB.  Bricks and volumes, the bulk of an export, are written from
templates; the few clusters, nodes, devices, attributes and pending operations go
through ``indented``, a small encoder that gives ``json.dumps(indent=4)``'s output.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as quote  # the C one, as ensure_ascii=False
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from pyketi import shapes
from pyketi.db import export
from pyketi.db.chunks import SIZE, utf8_chunks
from pyketi.db.models import Brick, Volume

STEP = "    "


def indented(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=4, ensure_ascii=False)`` for a value nested at
    ``indent`` (its inner lines are indented one step more)."""
    kind = type(value)
    if kind is str:
        return quote(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = indent + STEP
        return ("{\n" + ",\n".join(f"{inner}{quote(str(k))}: {indented(v, inner)}"
                                   for k, v in value.items())
                + "\n" + indent + "}")
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = indent + STEP
        return "[\n" + ",\n".join(inner + indented(v, inner) for v in value) + "\n" + indent + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value)  # floats (and NaN/Infinity), as json.dumps writes them


def _section(name: str, entries: Iterable[str], last: bool = False) -> Iterator[str]:
    """``"name": {entries}`` at the top level; entries are ``"id": {...}`` texts."""
    yield f"{STEP}{quote(name)}: {{"
    sep = "\n"
    for entry in entries:
        yield sep
        yield entry
        sep = ",\n"
    yield "}" if sep == "\n" else f"\n{STEP}}}"
    yield "\n" if last else ",\n"


def _entry(key: str, value: dict) -> str:
    level = STEP * 2
    return f"{level}{quote(key)}: {indented(value, level)}"


def _pending(op: str | None) -> str:
    return quote(op or "")


# indentation of a brick's or volume's lines: the entry at 8 spaces, its fields at
# 12, the fields of its Info at 16
I3, I4, I5 = STEP * 3, STEP * 4, STEP * 5


BRICK_COLUMNS = (Brick.id, Brick.path, Brick.device_id, Brick.node_id, Brick.volume_id,
                 Brick.size, Brick.tp_size, Brick.pool_metadata_size, Brick.pending_op,
                 Brick.lvm_thin_pool, Brick.lvm_lv, Brick.subtype)


def _bricks(rows: list) -> Iterator[str]:
    """The brick entries, from rows of ``BRICK_COLUMNS`` (the bulk of an export: one
    f-string each)."""
    q = quote
    return (f'        {q(bid)}: {{\n'
            f'{I3}"Info": {{\n'
            f'{I4}"id": {q(bid)},\n'
            f'{I4}"path": {q(path)},\n'
            f'{I4}"device": {q(device)},\n'
            f'{I4}"node": {q(node)},\n'
            f'{I4}"volume": {q(volume)},\n'
            f'{I4}"size": {size:d}\n'
            f'{I3}}},\n'
            f'{I3}"TpSize": {tp_size:d},\n'
            f'{I3}"PoolMetadataSize": {meta:d},\n'
            f'{I3}"Pending": {{\n'
            f'{I4}"Id": {q(pending or "")}\n'
            f'{I3}}},\n'
            f'{I3}"LvmThinPool": {q(pool)},\n'
            f'{I3}"LvmLv": {q(lv)},\n'
            f'{I3}"SubType": {subtype:d}\n'
            f'        }}'
            for (bid, path, device, node, volume, size, tp_size, meta, pending, pool, lv,
                 subtype) in rows)


class _Mounts:
    """A cluster's mount block (the same hosts for every volume of it), indented once."""

    def __init__(self, hosts: list[str]):
        self.hosts = indented(list(hosts), I5 + STEP)
        self.first = hosts[0] if hosts else ""
        self.backup = quote(",".join(hosts[1:]))

    def text(self, name: str) -> str:
        i6, i7 = I5 + STEP, I5 + STEP * 2
        return (f"{{\n{I5}\"glusterfs\": {{\n"
                f"{i6}\"hosts\": {self.hosts},\n"
                f"{i6}\"device\": {quote(self.first + ':' + name)},\n"
                f"{i6}\"options\": {{\n{i7}\"backup-volfile-servers\": {self.backup}\n{i6}}}\n"
                f"{I5}}}\n{I4}}}")


VOLUME_COLUMNS = (Volume.id, Volume.cluster_id, Volume.name, Volume.size, Volume.gid,
                  Volume.block, Volume.snapshot_enable, Volume.snapshot_factor,
                  Volume.pending_op,
                  # JSON columns as stored (SQLite: text; PostgreSQL's driver decodes
                  # them): most volumes share the same few values, rendered once each
                  type_coerce(Volume.durability, String), type_coerce(Volume.options, String),
                  type_coerce(Volume.blockinfo, String),
                  type_coerce(Volume.request_clusters, String))


_BRICKS = select(*BRICK_COLUMNS).order_by(Brick.id)
_VOLUMES = select(*VOLUME_COLUMNS).order_by(Volume.id)


class _Rendered(dict):
    """Text of a JSON column's value, rendered once per distinct value."""

    def __init__(self, render: Any):
        super().__init__()
        self.render = render

    def of(self, stored: Any) -> str:
        key = stored if isinstance(stored, str) else json.dumps(stored)
        text = self.get(key)
        if text is None:
            value = json.loads(stored) if isinstance(stored, str) else stored
            text = self[key] = self.render(value)
        return text


def _volumes(rows: list, mounts: dict[str, _Mounts], bricks_of_volume: dict[str, list[str]]
             ) -> Iterator[str]:
    """The volume entries: ``shapes.volume_info(v, [], hosts, export=True)`` and the
    entry around it, from rows of ``VOLUME_COLUMNS``."""
    q = quote
    durabilities = _Rendered(lambda d: indented(shapes.durability(d or {}), I4))
    options = _Rendered(lambda o: indented(list(o or []), I3))
    blockinfos = _Rendered(lambda b: indented(shapes.blockinfo(b or {}), I4))
    requested = _Rendered(lambda c: f'{I4}"clusters": {indented(list(c), I4)},\n' if c else "")
    no_hosts = _Mounts([])
    for (vid, cluster, name, size, gid, block, snap, factor, pending, durability, opts,
         blockinfo, clusters) in rows:
        yield (
            f'        {q(vid)}: {{\n{I3}"Info": {{\n'
            f'{I4}"size": {indented(size)},\n'
            f'{requested.of(clusters)}'
            f'{I4}"name": {q(name)},\n'
            f'{I4}"durability": {durabilities.of(durability)},\n'
            + (f'{I4}"gid": {indented(gid)},\n' if gid else "")
            + (f'{I4}"block": true,\n' if block else "")
            + f'{I4}"snapshot": {{\n{I5}"enable": {indented(snap)},\n'
            f'{I5}"factor": {indented(shapes.number(factor))}\n{I4}}},\n'
            f'{I4}"id": {q(vid)},\n'
            f'{I4}"cluster": {q(cluster)},\n'
            f'{I4}"mount": {mounts.get(cluster, no_hosts).text(name)},\n'
            f'{I4}"blockinfo": {blockinfos.of(blockinfo)}\n'
            f'{I3}}},\n'
            f'{I3}"Bricks": {indented(bricks_of_volume.get(vid, []), I3)},\n'
            f'{I3}"GlusterVolumeOptions": {options.of(opts)},\n'
            f'{I3}"Pending": {{\n{I4}"Id": {q(pending or "")}\n{I3}}}\n'
            f"        }}")


def pieces(s: Session) -> Iterator[str]:
    """The export as heketi's indented JSON text, piece by piece (with the final
    newline).  Every row is read first (one snapshot); the text is made as it is
    consumed."""
    conn = s.connection()
    bricks = conn.execute(_BRICKS).all()
    bricks_of_volume: dict[str, list[str]] = {}
    for b in bricks:  # ids in order: each list comes out sorted
        bricks_of_volume.setdefault(b[4], []).append(b[0])
    nodes = conn.execute(export.ALL_NODES).all()
    hosts: dict[str, list[str]] = {}
    for n in nodes:
        hosts.setdefault(n.cluster_id, []).append(n.storage_hostnames[0])
    mounts = {cid: _Mounts(h) for cid, h in hosts.items()}
    volumes = conn.execute(_VOLUMES).all()
    small = export.small_sections(s, bricks, nodes, volumes)

    def entries(name: str) -> Iterator[str]:
        return (_entry(k, v) for k, v in small[name].items())

    yield "{\n"
    yield from _section("clusterentries", entries("clusterentries"))
    yield from _section("volumeentries", _volumes(volumes, mounts, bricks_of_volume))
    yield from _section("brickentries", _bricks(bricks))
    for name in ("nodeentries", "deviceentries", "blockvolumeentries", "dbattributeentries"):
        yield from _section(name, entries(name))
    yield from _section("pendingoperations", entries("pendingoperations"), last=True)
    yield "}\n"


def dump_text(s: Session) -> str:
    """The whole export as text (``json.dumps(export.dump(s), indent=4)`` + newline)."""
    return "".join(pieces(s))


def dump_chunks(s: Session, size: int = SIZE) -> list[bytes]:
    """The export as UTF-8 chunks of about ``size`` bytes: what ``GET /db/dump`` sends."""
    return utf8_chunks(pieces(s), size)
