"""Statements and commits per request on the hot path (not a test; a measuring tool).

pyketi in this process (auth on, mock executor, the benchmark's topology: 1 cluster of
4 nodes x 8 devices), one client (``api_bench.Client``: POST, then poll the queue as
heketi's client does) creating ``--volumes`` 1 GiB replica-3 volumes and deleting them.
Every SQL statement the server sends is counted (SQLite: the driver's trace callback,
which lists an ``executemany`` row by row; PostgreSQL: SQLAlchemy's
``before_cursor_execute``) together with every commit, per request: the POST or DELETE (with the job it starts,
which the 202 waits for: ``queue.settle_middleware``) and the poll that follows.

    .venv/bin/python bench/hot_statements.py [--database postgresql] [--volumes 20] [-v]

``-v`` prints each statement of the last create, poll and delete.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench  # noqa: E402  (the benchmark's client and topology)


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0

    def snapshot(self) -> tuple[int, int]:
        return len(self.statements), self.commits


def install(engine, counter: Counter) -> None:
    """SQLite: the driver's trace callback (it also sees the statements ``db/fast.py``
    sends past SQLAlchemy); PostgreSQL: SQLAlchemy's events."""
    if engine.dialect.name == "sqlite":
        def trace(statement: str) -> None:
            text = " ".join(statement.split())
            if text.upper() == "COMMIT":
                counter.commits += 1
            elif text.upper() not in ("BEGIN", "BEGIN IMMEDIATE", "ROLLBACK"):
                counter.statements.append(text)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.set_trace_callback(trace)
        engine.dispose()  # connections opened before: without the callback
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _stmt(_conn, _cursor, statement, _params, _context, executemany):
        counter.statements.append(("(many) " if executemany else "") + " ".join(
            statement.split()))

    @event.listens_for(engine, "commit")
    def _commit(_conn):
        counter.commits += 1


async def main_async(args: argparse.Namespace, url: str) -> None:
    from pyketi.api.app import build_app
    from pyketi.config import load_config
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    from pyketi.executors.doubles.mock import MockExecutor
    from pyketi.operations.runtime import Runtime

    cfg = load_config(None, env={"HEKETI_ADMIN_KEY": api_bench.KEY,
                                 "HEKETI_USER_KEY": api_bench.KEY + "u"})
    cfg.database_url = url
    cfg.auth = True
    cfg.max_inflight_operations = 16
    cfg.max_volumes_per_cluster = 100000
    db = Database(url)
    ensure_schema(db.engine, db.url)
    counter = Counter()
    install(db.engine, counter)
    rt = Runtime(cfg, db, MockExecutor())
    await rt.start()
    runner = web.AppRunner(build_app(rt), access_log=None, handle_signals=False)
    await runner.setup()
    port = api_bench.free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    per: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    last: dict[str, list[str]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            c = api_bench.Client(session, f"http://127.0.0.1:{port}", 0.01)
            await api_bench.load_topology(c)

            async def counted(kind: str, method: str, path: str, body=None):
                before = counter.snapshot()
                out = await c.call(method, path, body)
                after = counter.snapshot()
                per[kind].append((after[0] - before[0], after[1] - before[1]))
                last[kind] = counter.statements[before[0]:after[0]]
                return out

            async def run(kind: str, method: str, path: str, body=None) -> str:
                status, headers, _ = await counted(kind, method, path, body)
                assert status == 202, status
                while True:
                    status, h, _ = await counted(kind + " poll", "GET", headers["Location"])
                    if status == 200 and h.get("X-Pending"):
                        await asyncio.sleep(0.01)
                        continue
                    assert status in (303, 204), status
                    return h.get("Location", "")

            ids = [(await run("create", "POST", "/volumes", api_bench.REPLICA3))
                   .rsplit("/", 1)[1] for _ in range(args.volumes)]
            await asyncio.sleep(0.1)  # audit records finished after the reply
            for vid in ids:
                await run("delete", "DELETE", f"/volumes/{vid}")
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
        await rt.stop()
        db.dispose()
    print(f"{db.engine.dialect.name}: statements / commits per request "
          f"(mean over {args.volumes})")
    for kind, rows in per.items():
        n = len(rows)
        print(f"  {kind:12s} requests {n:4d}  statements {sum(r[0] for r in rows) / n:5.1f}"
              f"  commits {sum(r[1] for r in rows) / n:4.1f}")
    if args.verbose:
        for kind, stmts in last.items():
            print(f"\n-- last {kind}:")
            for s in stmts:
                print("  ", s[:160])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=api_bench.PG_URL)
    p.add_argument("--volumes", type=int, default=20)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with api_bench.database(args.database, tmp, args.pg_url) as url:
            asyncio.run(main_async(args, url))
    return 0


if __name__ == "__main__":
    os.environ.pop("PYKETI_CONFIG", None)
    sys.exit(main())
