"""Revision 0004 (volume count per cluster) on SQLite and PostgreSQL: the count starts
from the rows already there, the database keeps it on every insert, delete and move of
a volume row, whoever writes it (here: plain SQL), a server refuses creates by it, and a
downgrade removes column and triggers."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from test_migration_roles import CID, empty_url, fill_0001, upgrade_to  # noqa: F401

from pyketi.db.migrate import alembic_config, current_revision
from pyketi.db.session import Database

OTHER = "e" * 32
EXPORT = Path(__file__).parent / "data" / "heketi-export.json"


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return dict(conn.execute(text("select id, volume_count from clusters")).all())


def add_volume(conn, vid: str, cid: str, name: str) -> None:
    conn.execute(text(
        "insert into volumes (id, cluster_id, name, size, durability, gid, options, block,"
        " blockinfo, snapshot_enable, snapshot_factor, request_clusters, created_at) "
        "values (:v, :c, :n, 1, '{\"type\": \"none\"}', 0, '[]', false, '{}',"
        " false, 1.0, '[]', 1)"), {"v": vid, "c": cid, "n": name})


async def test_0004_counts_existing_rows_and_keeps_counting(empty_url, make_api):  # noqa: F811
    db = Database(empty_url)
    try:
        upgrade_to(db, "0001")
        fill_0001(db)  # cluster CID with one volume
        with db.engine.begin() as conn:
            conn.execute(text("insert into clusters (id, block, file, created_at) "
                              "values (:c, false, true, 1)"), {"c": OTHER})
            add_volume(conn, "1" * 32, CID, "vol_two")
        upgrade_to(db, "0003")
        upgrade_to(db, "0004")
        assert counts(db) == {CID: 2, OTHER: 0}
        with db.engine.begin() as conn:
            add_volume(conn, "2" * 32, OTHER, "vol_three")
            add_volume(conn, "3" * 32, OTHER, "vol_four")
        assert counts(db) == {CID: 2, OTHER: 2}
        with db.engine.begin() as conn:
            conn.execute(text("update volumes set cluster_id = :c where id = :v"),
                         {"c": CID, "v": "2" * 32})
            conn.execute(text("update volumes set name = 'renamed' where id = :v"),
                         {"v": "3" * 32})
            conn.execute(text("delete from volumes where id = :v"), {"v": "1" * 32})
        assert counts(db) == {CID: 2, OTHER: 1}
        with db.engine.begin() as conn:  # a transaction rolled back leaves no trace
            add_volume(conn, "4" * 32, OTHER, "vol_gone")
            conn.rollback()
        assert counts(db) == {CID: 2, OTHER: 1}
    finally:
        db.dispose()
    api = await make_api(empty_url, max_volumes_per_cluster=1)
    r = await api.post("/volumes", {"size": 1, "clusters": [OTHER]})
    assert (r.status, r.text) == (
        500, "Failed to allocate new volume: Cluster has 1 volumes and limit is 1\n")
    assert (await api.get("/db/check")).json()["clusters"]["inconsistencies"] == []


def test_0004_downgrade_drops_column_and_triggers(empty_url):  # noqa: F811
    db = Database(empty_url)
    try:
        upgrade_to(db, "0004")
        fill_0001(db)
        assert counts(db) == {CID: 1}
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        assert current_revision(db.engine) == "0003"
        columns = {c["name"] for c in inspect(db.engine).get_columns("clusters")}
        assert "volume_count" not in columns
        with db.engine.begin() as conn:  # no trigger left to name the dropped column
            add_volume(conn, "1" * 32, CID, "vol_two")
            conn.execute(text("delete from volumes"))
        upgrade_to(db, "0004")
        assert counts(db) == {CID: 0}
    finally:
        db.dispose()


async def test_db_import_counts_the_imported_volumes(empty_url, make_api, tmp_path):  # noqa: F811
    from pyketi.db.export import load
    from pyketi.db.migrate import ensure_schema
    export = json.loads(EXPORT.read_text())
    per_cluster: dict[str, int] = {}
    for entry in export["volumeentries"].values():
        per_cluster[entry["Info"]["cluster"]] = per_cluster.get(entry["Info"]["cluster"], 0) + 1
    db = Database(empty_url)
    try:
        ensure_schema(db.engine, db.url)
        db.write_sync(lambda s: load(s, export))
        assert counts(db) == per_cluster
    finally:
        db.dispose()
    (cid, n), = per_cluster.items()
    api = await make_api(empty_url, max_volumes_per_cluster=n)
    r = await api.post("/volumes", {"size": 1})
    assert (r.status, r.text) == (
        500, f"Failed to allocate new volume: Cluster has {n} volumes and limit is {n}\n")
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0
