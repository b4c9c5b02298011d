"""``/db/dump`` and ``/db/check`` (indented JSON, as heketi)."""

from __future__ import annotations

import os
import sqlite3
import tempfile

from aiohttp import web

from pyketi.api.context import runtime
from pyketi.api.responses import chunked_json, json_response
from pyketi.db import check, export_text
from pyketi.db.files import create_private


async def dump(request: web.Request) -> web.Response:
    """heketi's export, indented; written from rows in a worker thread
    (``export_text``) and sent in chunks of about 1 MiB."""
    return chunked_json(await runtime(request).db.read_bulk(export_text.dump_chunks))


async def db_check(request: web.Request) -> web.Response:
    return json_response(await runtime(request).db.read_bulk(check.check), indent=4)


async def backup(request: web.Request) -> web.Response:
    """``GET /backup/db``: a consistent copy of the database.

    SQLite: the database file itself, taken with SQLite's online backup API.
    PostgreSQL: there is no file to hand out; the heketi JSON export is sent
    instead (``pg_dump`` is the tool for a PostgreSQL backup).
    """
    rt = runtime(request)
    if rt.db.is_sqlite:
        body = await rt.db.run_sync(lambda: sqlite_backup(rt.db.engine.url.database))
        name = "heketi.db"
    else:
        body = b"".join(await rt.db.read_bulk(export_text.dump_chunks))
        name = "heketi-export.json"
    return web.Response(body=body, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{name}"'})


def sqlite_backup(path: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "backup.db")
        backup_file(path, target)
        with open(target, "rb") as f:
            return f.read()


def backup_file(path: str, target: str) -> None:
    """SQLite's online backup of ``path`` into a new 0600 file ``target``."""
    os.close(create_private(target))
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/backup/db", backup)
    router.add_get("/db/dump", dump)
    router.add_get("/db/check", db_check)
