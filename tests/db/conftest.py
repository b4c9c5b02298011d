"""Fixtures of the database-layer tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def db(db_url):
    """A migrated ``Database`` on ``db_url`` (SQLite and PostgreSQL), disposed after."""
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    database = Database(db_url)
    ensure_schema(database.engine, database.url)
    yield database
    database.dispose()
