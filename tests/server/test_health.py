"""``/healthz`` and ``/readyz``: open (no token), plain text, and ``/readyz`` says 503
with the reason when the database is gone or its schema is not at this pyketi's head."""

from __future__ import annotations

import os

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from pyketi.db.migrate import alembic_config, head_revision

PG_ADMIN_URL = os.environ.get("PYKETI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def previous_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    down = script.get_revision(head_revision()).down_revision
    assert isinstance(down, str), "head has no single previous revision"
    return down


async def test_fresh_app_is_healthy_and_ready_without_a_token(api):
    no_token = await api.get("/clusters", auth=False)
    assert no_token.status == 401  # auth is on: the probes below are open on purpose
    for path, body in (("/healthz", "ok\n"), ("/readyz", "ready\n")):
        r = await api.get(path, auth=False)
        assert (r.status, r.text) == (200, body), path
        assert r.headers["Content-Type"].startswith("text/plain")
        head = await api.request("HEAD", path, auth=False)
        assert head.status == 200, path


async def test_readyz_503_when_schema_stamped_at_an_older_revision(api):
    old = previous_revision()
    with api.rt.db.engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = :v"), {"v": old})
    r = await api.get("/readyz", auth=False)
    assert r.status == 503
    assert r.text == (f"not ready: database schema at revision {old}, this pyketi needs "
                      f"{head_revision()} (run: pyketi db upgrade)\n")
    assert (await api.get("/healthz", auth=False)).status == 200  # alive, just not ready


async def test_readyz_503_when_schema_table_missing(api):
    with api.rt.db.engine.begin() as conn:
        conn.execute(text("drop table alembic_version"))
    r = await api.get("/readyz", auth=False)
    assert r.status == 503
    assert r.text == "not ready: database schema not initialized (run: pyketi db upgrade)\n"


async def test_readyz_503_when_schema_is_newer_than_this_pyketi(api):
    with api.rt.db.engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = 'ffff_future'"))
    r = await api.get("/readyz", auth=False)
    assert r.status == 503
    assert "revision ffff_future is newer than this pyketi" in r.text


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_readyz_503_when_postgresql_database_dropped(make_api, db_url):
    import psycopg
    api = await make_api(db_url)
    assert (await api.get("/readyz", auth=False)).status == 200
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    r = await api.get("/readyz", auth=False)
    assert r.status == 503
    assert r.text == "not ready: database unreachable (OperationalError)\n"
    assert name not in r.text  # the driver's message (database, host) stays in the log
    assert (await api.get("/healthz", auth=False)).status == 200


async def test_readyz_503_without_an_executor(api):
    api.rt.executor, executor = None, api.rt.executor
    try:
        r = await api.get("/readyz", auth=False)
    finally:
        api.rt.executor = executor
    assert (r.status, r.text) == (503, "not ready: executor not configured\n")
