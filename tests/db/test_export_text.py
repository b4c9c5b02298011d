"""``GET /db/dump``'s text, written from rows (``export_text``), is byte for byte the
indented JSON of the export dict (``export.dump``) that ``db export``, ``/db/check``
and the examiner use: on a database holding every optional field, odd strings and
pending objects, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import update

from pyketi.db import export, export_text
from pyketi.db.models import Brick, Operation, Volume
from pyketi.db.session import Database

C1, C2 = "c1" * 16, "c2" * 16
N1, N2, N3 = "a1" * 16, "a2" * 16, "a3" * 16
D1, D2, D3 = "d1" * 16, "d2" * 16, "d3" * 16
V1, V2, V3 = "e1" * 16, "e2" * 16, "e3" * 16
def brick_id(i: int, j: int) -> str:
    return f"b{i}{j}".ljust(32, "0")


ODD_BRICK = brick_id(1, 2)
ODD = 'q"uote\\back/slash\ttab\u00e9\U0001f600\u2028<&>'


def brick(bid: str, volume: str, device: str, node: str, path: str = "") -> dict:
    return {"Info": {"id": bid, "path": path or f"/var/lib/heketi/mounts/vg_{device}/brick_{bid}"
                                                "/brick",
                     "device": device, "node": node, "volume": volume, "size": 1048576},
            "TpSize": 1048576, "PoolMetadataSize": 8192, "Pending": {"Id": ""},
            "LvmThinPool": f"tp_{bid}", "LvmLv": "", "SubType": 2 if bid.startswith("b3") else 1}


def volume(vid: str, cluster: str, bricks: list[str], **info) -> dict:
    body = {"size": 1, "name": f"vol_{vid}", "id": vid, "cluster": cluster,
            "durability": {"type": "replicate", "replicate": {"replica": 3}},
            "snapshot": {"enable": False, "factor": 1}}
    body.update(info)
    return {"Info": body, "Bricks": bricks, "GlusterVolumeOptions": ["", ""],
            "Pending": {"Id": ""}}


def node(nid: str, cluster: str, host: str, **extra) -> dict:
    info = {"zone": 1, "hostnames": {"manage": [host], "storage": [host + "-storage"]},
            "cluster": cluster, "id": nid, **extra}
    return {"State": "online", "Info": info, "Devices": []}


def device(did: str, nid: str, **extra) -> dict:
    return {"State": "online", "NodeId": nid, "ExtentSize": 4096, "Bricks": [],
            "Info": {"name": "/dev/sdb", "storage": {"total": 100, "free": 50, "used": 50},
                     "id": did, **extra}}


def export_of_everything() -> dict:
    b = {brick_id(i, j): ([V1, V2, V3][i - 1], [D1, D2, D3][j], [N1, N2, N3][j])
         for i in (1, 2, 3) for j in range(3)}
    bricks = {bid: brick(bid, vol, dev, nd, path=f"/odd/{ODD}" if bid == ODD_BRICK else "")
              for bid, (vol, dev, nd) in b.items()}
    return {
        "clusterentries": {C1: {"Info": {"id": C1, "block": True, "file": True}},
                           C2: {"Info": {"id": C2, "block": False, "file": True}}},
        "nodeentries": {N1: node(N1, C1, "n1", tags={"rack": ODD, "zone": ""}),
                        N2: node(N2, C1, "n2"), N3: node(N3, C1, ODD)},
        "deviceentries": {D1: device(D1, N1, tags={"ssd": "yes"}, paths=["/dev/disk/by-id/x"],
                                     pv_uuid="pv-1"),
                          D2: device(D2, N2), D3: device(D3, N3, name=ODD)},
        "volumeentries": {
            V1: volume(V1, C1, [x for x in b if x.startswith("b1")], gid=2001,
                       clusters=[C1, C2], snapshot={"enable": True, "factor": 1.5}),
            V2: volume(V2, C1, [x for x in b if x.startswith("b2")], name=f"vol_{ODD}",
                       block=True, blockinfo={"freesize": 5, "reservedsize": 1,
                                              "blockvolume": [], "restriction": "locked"}),
            V3: volume(V3, C1, [x for x in b if x.startswith("b3")],
                       durability={"type": "disperse", "disperse": {"data": 2,
                                                                    "redundancy": 1}}),
        },
        "brickentries": bricks,
        "blockvolumeentries": {}, "dbattributeentries": {}, "pendingoperations": {},
    }


def expected_text(db: Database) -> str:
    return json.dumps(db.read_sync(export.dump), indent=4, ensure_ascii=False) + "\n"


def test_empty_database(db):
    assert db.read_sync(export_text.dump_text) == expected_text(db)


def test_every_field_odd_strings_and_pending_objects(db):
    db.write_sync(lambda s: export.load(s, export_of_everything()))

    def pending(s):
        s.execute(update(Volume).where(Volume.id == V3).values(
            pending_op="f0" * 16, options=["performance.readdir-ahead off", ODD]))
        s.execute(update(Brick).where(Brick.volume_id == V3).values(pending_op="f0" * 16))
        s.add(Operation(id="f0" * 16, type="create-volume", owner="f1" * 16,
                        changes=[{"id": V3, "description": "Add volume"},
                                 {"id": brick_id(3, 0), "description": "Add brick"}]))
    db.write_sync(pending)

    text = db.read_sync(export_text.dump_text)
    assert text == expected_text(db)
    parsed = json.loads(text)
    assert parsed["volumeentries"][V1]["Info"]["clusters"] == [C1, C2]
    assert parsed["volumeentries"][V2]["Info"]["name"] == f"vol_{ODD}"
    assert parsed["volumeentries"][V3]["Pending"] == {"Id": "f0" * 16}
    assert parsed["brickentries"][ODD_BRICK]["Info"]["path"] == f"/odd/{ODD}"
    assert parsed["brickentries"][brick_id(3, 0)]["Pending"] == {"Id": "f0" * 16}
    assert list(parsed["pendingoperations"]) == ["f0" * 16]
    # the chunks sent by GET /db/dump are the same text, cut anywhere
    chunks = db.read_sync(lambda s: export_text.dump_chunks(s, size=100))
    assert len(chunks) > 10
    assert b"".join(chunks) == text.encode()


def test_indented_is_json_dumps_indent_4():
    value = {"a": [1, 2.5, -0.0, True, None, {"b": []}, {}], ODD: {"x": [ODD, 10 ** 20]},
             "f": 1e300, "n": [[]]}
    assert export_text.indented(value) == json.dumps(value, indent=4, ensure_ascii=False)


def test_topology_chunks_are_the_compact_json_of_the_topology(db):
    """``GET /topology`` is encoded volume by volume; the bytes are heketi's compact
    JSON of the whole topology dict."""
    from pyketi.db import topology
    assert b"".join(db.read_sync(topology.chunks)) == b'{"clusters":[]}\n'
    db.write_sync(lambda s: export.load(s, export_of_everything()))
    whole = db.read_sync(topology.topology)
    assert [len(c["volumes"]) for c in whole["clusters"]] == [3, 0]
    assert len(whole["clusters"][0]["nodes"]) == 3
    expected = json.dumps(whole, separators=(",", ":"), ensure_ascii=False) + "\n"
    for size in (1, 1 << 20):
        assert b"".join(db.read_sync(lambda s: topology.chunks(s, size))) == expected.encode()
