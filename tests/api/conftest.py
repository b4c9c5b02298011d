"""Fixtures for the route-by-route API tests.

``db_url`` is overridden here to keep the suite fast while every test still
starts from an empty, migrated database:

* SQLite: a migrated template file made once per session, copied per test.
* PostgreSQL: one database per session (a copy of the root conftest's
  template), all tables emptied before each test, instead of a
  ``CREATE DATABASE``/``DROP DATABASE`` pair per test (~1.5 s each).

The root ``tests/conftest.py`` module is reached through the plugin manager
(``base``), because every ``conftest.py`` outside a package is imported under
the same module name and only the last one stays in ``sys.modules``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="session")
def base(request) -> Any:
    """The root ``tests/conftest.py`` module (token, keys, PostgreSQL helpers)."""
    module = request.config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert module is not None, f"{ROOT_CONFTEST} not loaded"
    return module


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    path = tmp_path_factory.mktemp("schema") / "template.db"
    db = Database(f"sqlite:///{path}")
    ensure_schema(db.engine, db.url)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def shared_pg(base):
    """One migrated PostgreSQL database for the whole session (None if unreachable)."""
    if base.pg_available():
        yield None
        return
    url, name = base.new_pg_database()
    yield url
    base.drop_pg_database(name)


def truncate_all(url: str) -> None:
    """Empty every table but Alembic's (DELETE: much faster than TRUNCATE on tiny tables)."""
    import psycopg
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK order needed
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")]
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, base):
    if request.param == "sqlite":
        target = tmp_path / "pyketi.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    reason = base.pg_available()
    if reason:
        pytest.skip(reason)
    url = request.getfixturevalue("shared_pg")
    truncate_all(url)
    return url


@pytest.fixture
def sign(base):
    """``sign(role, method, path, key=None, **claims)`` → a heketi JWT (root ``token``)."""
    return base.token


@pytest.fixture
def keys(base) -> dict[str, str]:
    return {"admin": base.ADMIN_KEY, "user": base.USER_KEY}


@pytest.fixture
async def gated_api(make_api, db_url):
    """``api, executor = await gated_api("bricks_create", **config)``: those executor
    calls block until ``executor.release()``; released at teardown before the
    server stops, so no job is left hanging."""
    from apihelp import GateExecutor
    executors = []

    async def factory(*calls: str, **overrides: Any):
        executor = GateExecutor(*calls)
        executors.append(executor)
        return await make_api(db_url, executor=executor, **overrides), executor

    yield factory
    for executor in executors:
        executor.release()
