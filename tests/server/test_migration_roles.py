"""Revision 0002 (roles of volumes and jobs) upgrades a populated 0001 database on
SQLite and PostgreSQL: rows from before count as the admin's, so the user role
can no longer change a volume that existed before the upgrade."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from sqlalchemy import text

from pyketi.db.migrate import alembic_config, current_revision, ensure_schema, head_revision
from pyketi.db.session import Database

PG_ADMIN_URL = os.environ.get("PYKETI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CID, VID, JID = "c" * 32, "a" * 32, "b" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """An empty database (no schema at all), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        return
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as e:
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} unreachable: {e}")
    name = f"pyketi_m_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def upgrade_to(db: Database, revision: str) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def fill_0001(db: Database) -> None:
    """One cluster, one volume and one finished job, as a 0001 server wrote them."""
    with db.engine.begin() as conn:
        conn.execute(text("insert into clusters (id, block, file, created_at) "
                          "values (:c, false, true, 1)"), {"c": CID})
        conn.execute(text(
            "insert into volumes (id, cluster_id, name, size, durability, gid, options, block,"
            " blockinfo, snapshot_enable, snapshot_factor, request_clusters, created_at) "
            "values (:v, :c, 'vol_old', 1, '{\"type\": \"none\"}', 0, '[]', false, '{}',"
            " false, 1.0, '[]', 1)"), {"v": VID, "c": CID})
        conn.execute(text("insert into jobs (id, status, location, error, owner, created_at,"
                          " finished_at) values (:j, 'done', :loc, '', :o, 1, 2)"),
                     {"j": JID, "loc": f"/volumes/{VID}", "o": "d" * 32})


async def test_upgrade_from_0001_keeps_rows_and_makes_them_admins(empty_url, make_api):
    db = Database(empty_url)
    try:
        upgrade_to(db, "0001")
        fill_0001(db)
        assert ensure_schema(db.engine, db.url) == head_revision()
        assert current_revision(db.engine) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("select name, created_by from volumes")).all() == [
                ("vol_old", "admin")]
            assert conn.execute(text("select id, role from jobs")).all() == [(JID, "admin")]
    finally:
        db.dispose()
    api = await make_api(empty_url)
    # the pre-upgrade volume is the admin's: a user token may read it, not delete it
    assert (await api.get(f"/volumes/{VID}", role="user")).status == 200
    refused = await api.delete(f"/volumes/{VID}", role="user")
    assert (refused.status, refused.text) == (401, "Administrator access required\n")
    assert (await api.get(f"/volumes/{VID}")).json()["name"] == "vol_old"


def test_downgrade_to_0001_drops_the_columns(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/p.db")
    try:
        ensure_schema(db.engine, db.url)
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with db.engine.connect() as conn:
            volume_cols = {r[1] for r in conn.execute(text("pragma table_info(volumes)"))}
            job_cols = {r[1] for r in conn.execute(text("pragma table_info(jobs)"))}
        assert "created_by" not in volume_cols and "role" not in job_cols
        assert current_revision(db.engine) == "0001"
    finally:
        db.dispose()


async def test_export_keeps_heketis_format_and_import_makes_volumes_admins(make_api, tmp_path):
    """The creator is pyketi's own: ``/db/dump`` (heketi's export format) does not carry
    it, and an imported volume counts as the admin's (the export cannot say otherwise)."""
    source = await make_api(f"sqlite:///{tmp_path}/source.db")
    await source.topology(nodes=3)
    vol = await source.done(await source.post("/volumes", {"size": 1}, role="user"),
                            role="user")
    dump = await source.get("/db/dump")
    assert dump.status == 200
    entry = dump.json()["volumeentries"][vol["id"]]
    assert set(entry) == {"Info", "Bricks", "GlusterVolumeOptions", "Pending"}
    assert "created_by" not in dump.text and '"role"' not in dump.text

    from pyketi.db.export import load
    target_url = f"sqlite:///{tmp_path}/target.db"
    db = Database(target_url)
    try:
        ensure_schema(db.engine, db.url)
        db.write_sync(lambda s: load(s, dump.json()))
    finally:
        db.dispose()
    target = await make_api(target_url)
    refused = await target.delete(f"/volumes/{vol['id']}", role="user")
    assert (refused.status, refused.text) == (401, "Administrator access required\n")
    assert await target.done(await target.delete(f"/volumes/{vol['id']}")) is None
