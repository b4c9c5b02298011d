"""API benchmark (not a test): pyketi with the mock executor, 4 nodes x 8 devices
of 500 GiB, 200 x 1 GiB replica-3 volumes created with 1 and with 8 concurrent
clients, then deleted.  Prints vol/s and p50/p95 latency (202 → final 303/204,
polling the queue every 2 ms), and the mean latency of the first and last 50
creates to show whether creation slows down as volumes accumulate.

    .venv/bin/python bench/api_bench.py [--volumes 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import jwt

KEY = "bench-admin-key-0123456789abcdef"


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str):
        self.s, self.base = session, base

    def _auth(self, method: str, path: str) -> dict:
        now = int(time.time())
        tok = jwt.encode({"iss": "admin", "iat": now, "exp": now + 300,
                          "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()},
                         KEY, algorithm="HS256")
        return {"Authorization": f"Bearer {tok}"}

    async def call(self, method: str, path: str, body=None):
        async with self.s.request(method, self.base + path, json=body, allow_redirects=False,
                                  headers=self._auth(method, path)) as r:
            return r.status, dict(r.headers), await r.text()

    async def run(self, method: str, path: str, body=None) -> str:
        status, headers, text = await self.call(method, path, body)
        if status != 202:
            raise RuntimeError(f"{method} {path}: {status} {text}")
        while True:
            status, h, text = await self.call("GET", headers["Location"])
            if status == 200 and h.get("X-Pending"):
                await asyncio.sleep(0.002)
                continue
            if status == 303:
                return h["Location"]
            if status == 204:
                return ""
            raise RuntimeError(f"{method} {path}: {status} {text}")


async def load_topology(c: Client, nodes: int, devices: int) -> None:
    _, _, text = await c.call("POST", "/clusters", {"file": True, "block": True})
    cid = json.loads(text)["id"]
    for n in range(nodes):
        loc = await c.run("POST", "/nodes", {
            "zone": n % 2 + 1, "cluster": cid,
            "hostnames": {"manage": [f"bench-node{n}"], "storage": [f"10.250.0.{n + 1}"]}})
        nid = loc.rsplit("/", 1)[1]
        await asyncio.gather(*(c.run("POST", "/devices", {"node": nid, "name": f"/dev/vd{chr(98 + d)}"})
                               for d in range(devices)))


async def phase(c: Client, count: int, concurrency: int) -> dict:
    latencies: list[float] = []
    ids: list[str] = []
    queue = list(range(count))
    body = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}

    async def worker() -> None:
        while queue:
            queue.pop()
            t0 = time.perf_counter()
            loc = await c.run("POST", "/volumes", body)
            latencies.append(time.perf_counter() - t0)
            ids.append(loc.rsplit("/", 1)[1])

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    create_s = time.perf_counter() - t0
    order = list(latencies)
    del_lat: list[float] = []

    async def deleter(chunk: list[str]) -> None:
        for vid in chunk:
            t = time.perf_counter()
            await c.run("DELETE", f"/volumes/{vid}")
            del_lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(deleter(ids[i::concurrency]) for i in range(concurrency)))
    delete_s = time.perf_counter() - t0
    q = max(1, count // 4)
    return {"create_vol_s": count / create_s, "delete_vol_s": count / delete_s,
            "create_p50_ms": 1000 * statistics.median(latencies),
            "create_p95_ms": 1000 * statistics.quantiles(latencies, n=20)[-1],
            "delete_p50_ms": 1000 * statistics.median(del_lat),
            "delete_p95_ms": 1000 * statistics.quantiles(del_lat, n=20)[-1],
            "first_quarter_ms": 1000 * statistics.mean(order[:q]),
            "last_quarter_ms": 1000 * statistics.mean(order[-q:])}


async def main_async(args: argparse.Namespace, base: str) -> None:
    async with aiohttp.ClientSession() as session:
        c = Client(session, base)
        t0 = time.perf_counter()
        await load_topology(c, 4, 8)
        print(f"topology 4 nodes x 8 devices loaded in {time.perf_counter() - t0:.2f} s")
        for conc in (1, 8):
            r = await phase(c, args.volumes, conc)
            print(f"{args.volumes} x 1 GiB replica-3, {conc} client(s): "
                  f"create {r['create_vol_s']:.1f} vol/s (p50 {r['create_p50_ms']:.1f} ms, "
                  f"p95 {r['create_p95_ms']:.1f} ms; first quarter {r['first_quarter_ms']:.1f} ms,"
                  f" last quarter {r['last_quarter_ms']:.1f} ms), delete {r['delete_vol_s']:.1f}"
                  f" vol/s (p50 {r['delete_p50_ms']:.1f} ms, p95 {r['delete_p95_ms']:.1f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--volumes", type=int, default=200)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = port()
        config = {"port": str(p), "bind": "127.0.0.1",
                  "jwt": {"admin": {"key": KEY}, "user": {"key": KEY + "u"}},
                  "database_url": args.database_url or f"sqlite:///{tmp}/bench.db",
                  "glusterfs": {"executor": "mock", "max_inflight_operations": 16}}
        Path(tmp, "c.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}
        log = open(Path(tmp, "server.log"), "wb")
        proc = subprocess.Popen([sys.executable, "-m", "pyketi", "serve", "--config",
                                 str(Path(tmp, "c.json"))], stdout=log, stderr=subprocess.STDOUT,
                                env=env)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            print(f"database: {config['database_url'].split('://')[0]}")
            asyncio.run(main_async(args, f"http://127.0.0.1:{p}"))
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(15)


if __name__ == "__main__":
    main()
