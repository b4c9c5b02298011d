"""Revision 0005 (progress of an operation) upgrades a 0004 database with a pending
operation (its progress empty, the rest untouched) and downgrades again, on SQLite
and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text
from test_migration_roles import empty_url, upgrade_to  # noqa: F401

from pyketi.db.migrate import alembic_config, current_revision
from pyketi.db.session import Database

OP = "e" * 32


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("operations")}


def test_0005_upgrade_and_downgrade(empty_url):  # noqa: F811
    db = Database(empty_url)
    try:
        upgrade_to(db, "0004")
        with db.engine.begin() as conn:
            conn.execute(text(
                "insert into operations (id, type, status, owner, created_at, spec, changes,"
                " started_steps, error) values (:o, 'evict-brick', 'failed', :w, 1,"
                " '{\"kind\": \"evict-brick\"}', '[]', '[]', 'node gone')"),
                {"o": OP, "w": "d" * 32})
        upgrade_to(db, "0005")
        assert current_revision(db.engine) == "0005"
        with db.engine.begin() as conn:
            row = conn.execute(text("select type, status, error, progress from operations"
                                    " where id = :o"), {"o": OP}).one()
            assert tuple(row) == ("evict-brick", "failed", "node gone", "")
            conn.execute(text("update operations set progress = 'brick 1 of 2'"))
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert "progress" not in _columns(db) and current_revision(db.engine) == "0004"
        with db.engine.begin() as conn:
            assert conn.execute(text("select error from operations")).scalar() == "node gone"
    finally:
        db.dispose()
