"""Mixed-traffic benchmark (not a test): the hostile-input run of
``tests/api/test_hostile.py`` (``tests/api/hostile.py``: every route, valid and hostile
requests over raw sockets, 202s followed to their end, ``/db/dump`` compared after
every request that wrote) timed, with where the time goes.

pyketi runs in this process (as in the test: mock executor, auth on), on a fresh
database per round (SQLite file, or a database of its own on ``--pg-url``), with the
test's world: 3 nodes x 2 devices, one volume of the admin's and one of a user's.
Per round it prints the wall time, this process's CPU time split into the hostile
client's (making each request, parsing the dumps it compares) and the rest (the
server, and aiohttp on both sides), and the time per route from the access log's
request observer (arrival to answer, waits on the shared loop included), so a read
that dominates shows at the top.

    .venv/bin/python bench/mixed_bench.py [--requests 2000] [--seeds 1,2,3]
    .venv/bin/python bench/mixed_bench.py --database postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "api"), str(REPO / "bench")]

import conftest as base  # noqa: E402  (tests/conftest.py: Api, make_config, keys)
import hostile  # noqa: E402
from api_bench import PG_URL, database, loadavg  # noqa: E402
from apihelp import topology  # noqa: E402


@contextlib.contextmanager
def timed(cls: type, name: str, total: list[float]):
    """Add the CPU time of every call of ``cls.name`` (synchronous client work: making
    a request, parsing a dump) to ``total[0]``."""
    original = getattr(cls, name)

    def wrapper(*args, **kwargs):
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            total[0] += time.thread_time() - started

    setattr(cls, name, wrapper)
    try:
        yield
    finally:
        setattr(cls, name, original)


async def one_round(url: str, seed: int, requests: int) -> dict:
    from aiohttp.test_utils import TestClient, TestServer

    from pyketi.api import access
    from pyketi.api.app import build_app
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    from pyketi.executors.doubles.mock import MockExecutor
    from pyketi.operations.runtime import Runtime

    cfg = base.make_config(url)
    db = Database(cfg.database_url)
    ensure_schema(db.engine, db.url)
    rt = Runtime(cfg, db, MockExecutor())
    await rt.start()
    app = build_app(rt)
    per_route: dict[str, list[float]] = defaultdict(list)

    def observe(request, route: str, status: int, seconds: float) -> None:
        per_route[f"{request.method} {route}"].append(seconds)

    app.setdefault(access.OBSERVERS, []).append(observe)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        api = base.Api(client, rt)
        await topology(api, nodes=3, devices=2)
        await api.volume(1)
        body = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}
        await api.done(await api.post("/volumes", body, role="user"))
        per_route.clear()
        keys = {"admin": base.ADMIN_KEY, "user": base.USER_KEY}
        client_cpu = [0.0]
        with timed(hostile.HostileClient, "build", client_cpu), \
                timed(base.Reply, "json", client_cpu):
            cpu0, t0 = time.process_time(), time.perf_counter()
            report = await hostile.run(api, keys, seed, requests)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await client.close()
        await rt.stop()
        db.dispose()
    problems = report.problems()
    server = sum(sum(v) for v in per_route.values())
    routes = sorted(((sum(v), len(v), k) for k, v in per_route.items()), reverse=True)
    return {"seed": seed, "requests": report.requests, "wall_s": wall, "cpu_s": cpu,
            "client_cpu_s": client_cpu[0], "server_cpu_s": cpu - client_cpu[0],
            "server_s": server, "dumps": report.dumps, "problems": len(problems),
            "dump_s": sum(per_route.get("GET /db/dump", [])),
            "top": [(round(s, 3), n, k) for s, n, k in routes[:8]], "load": loadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seeds", default="1,2,3", help="one round per seed")
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--json", help="append the summary as one JSON line to this file")
    args = ap.parse_args()
    print(f"load average at start: {loadavg()}", flush=True)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            with database(args.database, tmp, args.pg_url) as url:
                r = asyncio.run(one_round(url, seed, args.requests))
            rounds.append(r)
            print(f"seed {seed} ({args.database}): {r['requests']} requests in "
                  f"{r['wall_s']:.1f} s (process CPU {r['cpu_s']:.1f} s: hostile client "
                  f"{r['client_cpu_s']:.1f} s, server {r['server_cpu_s']:.1f} s; in handlers "
                  f"{r['server_s']:.1f} s, of which GET /db/dump {r['dump_s']:.1f} s over "
                  f"{r['dumps']} dumps), problems {r['problems']}, load {r['load']}",
                  flush=True)
            for seconds, n, route in r["top"]:
                print(f"    {seconds:7.3f} s  {n:5d}  {route}")
    summary = {k: statistics.median(r[k] for r in rounds)
               for k in ("wall_s", "cpu_s", "client_cpu_s", "server_cpu_s", "server_s",
                         "dump_s")}
    print(f"median of {len(rounds)} rounds ({args.database}, {args.requests} requests): "
          f"{summary['wall_s']:.1f} s wall, {summary['cpu_s']:.1f} s CPU (client "
          f"{summary['client_cpu_s']:.1f} s, server {summary['server_cpu_s']:.1f} s), "
          f"{summary['server_s']:.1f} s in handlers ({summary['dump_s']:.1f} s GET /db/dump); "
          f"loads {', '.join(r['load'] for r in rounds)}")
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"mode": "mixed", "database": args.database,
                                "requests": args.requests, "median": summary,
                                "rounds": rounds, "when": time.strftime(
                                    "%Y-%m-%d %H:%M:%S UTC", time.gmtime())}) + "\n")


if __name__ == "__main__":
    main()
