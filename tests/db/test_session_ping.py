"""A PostgreSQL connection that died while idle in the pool (server restart, idle
timeout, an administrator's ``pg_terminate_backend``) is replaced before use, so the
next transaction works (db/session.py pings connections idle for over a second)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from pyketi.db.session import PING_AFTER_IDLE_SECONDS, Database


def test_a_connection_killed_while_idle_is_replaced(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite has no server to lose)")
    import psycopg

    db = Database(db_url)
    try:
        pid = db.read_sync(lambda s: s.execute(text("SELECT pg_backend_pid()")).scalar())
        with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        again = db.read_sync(lambda s: s.execute(text("SELECT pg_backend_pid()")).scalar())
        assert again != pid
        assert db.write_sync(lambda s: s.execute(text("SELECT 1")).scalar()) == 1
    finally:
        db.dispose()
