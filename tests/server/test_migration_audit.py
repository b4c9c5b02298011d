"""Revision 0003 (audit trail) upgrades a populated 0002 database and downgrades
again, on SQLite and PostgreSQL; the data of 0002 is untouched."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text
from test_migration_roles import CID, empty_url, fill_0001, upgrade_to  # noqa: F401

from pyketi.db.migrate import alembic_config, current_revision
from pyketi.db.session import Database


def test_0003_upgrade_and_downgrade(empty_url):  # noqa: F811
    db = Database(empty_url)
    try:
        upgrade_to(db, "0001")
        fill_0001(db)
        upgrade_to(db, "0002")
        upgrade_to(db, "0003")
        assert current_revision(db.engine) == "0003"
        with db.engine.begin() as conn:
            conn.execute(text(
                "insert into audit (time, role, subject, remote, method, route, kind, objects,"
                " status, result, duration, request_id, error) values (1, 'admin', '',"
                " '127.0.0.1', 'POST', '/clusters', 'cluster.create', :c, 201, 'done', 0.1,"
                " 'r1', '')"), {"c": CID})
            assert conn.execute(text("select count(*) from clusters")).scalar() == 1
            assert conn.execute(text("select objects from audit")).scalar() == CID
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert "audit" not in inspect(db.engine).get_table_names()
        assert current_revision(db.engine) == "0002"
    finally:
        db.dispose()
