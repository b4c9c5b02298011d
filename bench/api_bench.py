"""API benchmark (not a test): pyketi as a subprocess with the mock executor and auth on.

Throughput (default): 1 cluster of 4 nodes x 8 devices of 500 GiB loaded through the API,
then ``--volumes`` x 1 GiB replica-3 volumes created, then deleted, by 1 and by 8 concurrent
clients.  A client polls ``/queue/{id}`` as heketi's Go client does: at once after the 202,
then every ``--poll-ms`` (10 ms) while the reply says ``X-Pending``.  Every round starts a
fresh server on a fresh database; the figures printed are the median of ``--rounds``
rounds, each with the load average (/proc/loadavg) read when it was taken.  After the
creates of every round ``/db/check`` must report no inconsistency (no device overbooked,
no brick without its device space).

* ``--database postgresql``: each round creates its own database on ``--pg-url``'s
  server (``pyketi_bench_<random>``) and drops it afterwards (never anything else).
* ``--instances 2``: that many servers share the database; the clients are spread over
  them round-robin (use with PostgreSQL).
* ``--scale 10000``: a database preloaded with that many volumes (written as a heketi
  export and loaded with ``pyketi db import``, not through the API) against the same
  topology without volumes: create p50, ``GET /volumes``, ``GET /db/dump``,
  ``GET /topology`` (each with the server's CPU time), ``topology info`` through the
  client library and through ``pyketi-cli`` (one ``GET /topology``; the per-object
  composition against a server without it) and the server's RSS (now and peak).

    .venv/bin/python bench/api_bench.py [--rounds 3] [--volumes 200] [--clients 1,8]
    .venv/bin/python bench/api_bench.py --database postgresql [--instances 2]
    .venv/bin/python bench/api_bench.py --scale 10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import jwt

KEY = "bench-admin-key-0123456789abcdef"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REPLICA3 = {"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}}
GIB_KIB = 1024 * 1024
BRICK_SPACE_1G = GIB_KIB + 8192  # thin pool + metadata, rounded to the 4 MiB extent


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_children(pids: list[int]) -> list[int]:
    """These processes and their child processes (a server's workers)."""
    out = []
    for pid in pids:
        out.append(pid)
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        out += with_children([int(k) for k in kids])
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (all their threads) and
    their children (the workers of a server with ``--workers``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in with_children(pids):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


# -- servers and databases -------------------------------------------------------------

@contextlib.contextmanager
def database(kind: str, tmp: str, pg_url: str):
    """A fresh database URL: a SQLite file in ``tmp`` or a new PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bench-{secrets.token_hex(4)}.db"
        return
    import psycopg

    name = f"pyketi_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(tmp: str, url: str, port: int, device_gib: int, workers: int = 1) -> Path:
    path = Path(tmp, f"c-{port}.json")
    path.write_text(json.dumps({
        "port": str(port), "bind": "127.0.0.1", "workers": workers,
        "jwt": {"admin": {"key": KEY}, "user": {"key": KEY + "u"}},
        "database_url": url,
        "glusterfs": {"executor": "mock", "max_inflight_operations": 16,
                      # heketi's default limit is 1000 volumes per cluster; --scale goes past it
                      "max_volumes_per_cluster": 100000,
                      "mockexec": {"device_size_gib": device_gib}}}))
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}


@contextlib.contextmanager
def servers(tmp: str, url: str, count: int = 1, device_gib: int = 500, workers: int = 1):
    """Start ``count`` pyketi servers on ``url``, each with ``workers`` worker processes;
    yields [(base URL, pid)]."""
    procs = []
    try:
        for _ in range(count):
            port = free_port()
            config = write_config(tmp, url, port, device_gib, workers)
            log = open(Path(tmp, f"server-{port}.log"), "wb")
            proc = subprocess.Popen([sys.executable, "-m", "pyketi", "serve", "--config",
                                     str(config)], stdout=log, stderr=subprocess.STDOUT,
                                    env=clean_env())
            procs.append((proc, port))
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start; see {log.name}") from None
                    time.sleep(0.05)
        yield [(f"http://127.0.0.1:{port}", proc.pid) for proc, port in procs]
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)


# -- the client (heketi's Go client behaviour) ------------------------------------------

@dataclass
class Outcome:
    seconds: float
    polls: int
    done_at_first_poll: bool
    location: str


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, poll_s: float):
        self.s, self.base, self.poll_s = session, base, poll_s

    @staticmethod
    def _auth(method: str, path: str) -> dict:
        now = int(time.time())
        tok = jwt.encode({"iss": "admin", "iat": now, "exp": now + 300,
                          "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()},
                         KEY, algorithm="HS256")
        return {"Authorization": f"Bearer {tok}"}

    async def call(self, method: str, path: str, body=None):
        async with self.s.request(method, self.base + path, json=body, allow_redirects=False,
                                  headers=self._auth(method, path)) as r:
            return r.status, r.headers.copy(), await r.read()

    async def run(self, method: str, path: str, body=None) -> Outcome:
        """Submit, then poll the queue: at once, then every ``poll_s`` while pending."""
        t0 = time.perf_counter()
        status, headers, text = await self.call(method, path, body)
        if status != 202:
            raise RuntimeError(f"{method} {path}: {status} {text!r}")
        polls = 0
        while True:
            status, h, text = await self.call("GET", headers["Location"])
            polls += 1
            if status == 200 and h.get("X-Pending"):
                await asyncio.sleep(self.poll_s)
                continue
            if status in (303, 204):
                return Outcome(time.perf_counter() - t0, polls, polls == 1,
                               h.get("Location", ""))
            raise RuntimeError(f"{method} {path}: {status} {text!r}")


async def load_topology(c: Client, nodes: int = 4, devices: int = 8) -> str:
    _, _, text = await c.call("POST", "/clusters", {"file": True, "block": True})
    cid = json.loads(text)["id"]
    for n in range(nodes):
        done = await c.run("POST", "/nodes", {
            "zone": n % 2 + 1, "cluster": cid,
            "hostnames": {"manage": [f"bench-node{n}"], "storage": [f"10.250.0.{n + 1}"]}})
        nid = done.location.rsplit("/", 1)[1]
        await asyncio.gather(*(c.run("POST", "/devices", {"node": nid,
                                                          "name": f"/dev/vd{chr(98 + d)}"})
                               for d in range(devices)))
    return cid


async def check_db(c: Client) -> int:
    status, _, text = await c.call("GET", "/db/check")
    if status != 200:
        raise RuntimeError(f"/db/check: {status} {text!r}")
    return json.loads(text)["totalinconsistencies"]


# -- throughput rounds -----------------------------------------------------------------

@dataclass
class Phase:
    create_vol_s: float
    delete_vol_s: float
    create_p50_ms: float
    create_p95_ms: float
    delete_p50_ms: float
    done_at_first_poll: float      # fraction of creates
    polls_per_create: float
    load_create: str
    load_delete: str
    inconsistencies: int
    cpu_ms_per_create: float       # server CPU (all instances), independent of the load
    cpu_ms_per_delete: float
    client_cpu_ms_per_create: float = 0.0  # this benchmark's own CPU (the clients)
    extra: dict = field(default_factory=dict)


async def phase(clients: list[Client], count: int, concurrency: int,
                pids: list[int]) -> Phase:
    creates: list[Outcome] = []
    todo = list(range(count))

    async def creator(c: Client) -> None:
        while todo:
            todo.pop()
            creates.append(await c.run("POST", "/volumes", REPLICA3))

    cpu0, t0, own0 = cpu_seconds(pids), time.perf_counter(), time.process_time()
    await asyncio.gather(*(creator(clients[i % len(clients)]) for i in range(concurrency)))
    create_s, create_cpu = time.perf_counter() - t0, cpu_seconds(pids) - cpu0
    client_cpu = time.process_time() - own0
    load_create = loadavg()
    inconsistencies = await check_db(clients[0])
    ids = [o.location.rsplit("/", 1)[1] for o in creates]
    deletes: list[Outcome] = []

    async def deleter(c: Client, chunk: list[str]) -> None:
        for vid in chunk:
            deletes.append(await c.run("DELETE", f"/volumes/{vid}"))

    cpu0, t0 = cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(deleter(clients[i % len(clients)], ids[i::concurrency])
                           for i in range(concurrency)))
    delete_s, delete_cpu = time.perf_counter() - t0, cpu_seconds(pids) - cpu0
    lat = [o.seconds for o in creates]
    return Phase(create_vol_s=count / create_s, delete_vol_s=count / delete_s,
                 create_p50_ms=1000 * statistics.median(lat),
                 create_p95_ms=1000 * statistics.quantiles(lat, n=20)[-1],
                 delete_p50_ms=1000 * statistics.median(o.seconds for o in deletes),
                 done_at_first_poll=sum(o.done_at_first_poll for o in creates) / count,
                 polls_per_create=sum(o.polls for o in creates) / count,
                 load_create=load_create, load_delete=loadavg(),
                 inconsistencies=inconsistencies, cpu_ms_per_create=1000 * create_cpu / count,
                 cpu_ms_per_delete=1000 * delete_cpu / count,
                 client_cpu_ms_per_create=1000 * client_cpu / count)


async def throughput_round(procs: list[tuple[str, int]],
                           args: argparse.Namespace) -> dict[int, Phase]:
    out = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        clients = [Client(session, b, args.poll_ms / 1000) for b, _ in procs]
        await load_topology(clients[0])
        for conc in args.clients:
            out[conc] = await phase(clients, args.volumes, conc, [pid for _, pid in procs])
    return out


def median_phase(phases: list[Phase]) -> dict:
    keys = ["create_vol_s", "delete_vol_s", "create_p50_ms", "create_p95_ms", "delete_p50_ms",
            "done_at_first_poll", "polls_per_create", "cpu_ms_per_create", "cpu_ms_per_delete",
            "client_cpu_ms_per_create"]
    med = {k: statistics.median(getattr(p, k) for p in phases) for k in keys}
    med["loads"] = [p.load_create for p in phases]
    med["inconsistencies"] = max(p.inconsistencies for p in phases)
    return med


def run_throughput(args: argparse.Namespace) -> dict:
    rounds: list[dict[int, Phase]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            with database(args.database, tmp, args.pg_url) as url, \
                    servers(tmp, url, args.instances, workers=args.workers) as procs:
                result = asyncio.run(throughput_round(procs, args))
            rounds.append(result)
            for conc, p in result.items():
                print(f"round {r + 1} {args.database} x{args.instances} ({args.workers} "
                      f"worker(s)), {conc} client(s): "
                      f"create {p.create_vol_s:.1f} vol/s (p50 {p.create_p50_ms:.1f} ms, "
                      f"done at 1st poll {100 * p.done_at_first_poll:.0f} %, "
                      f"{p.polls_per_create:.2f} polls, CPU {p.cpu_ms_per_create:.1f} ms), "
                      f"delete {p.delete_vol_s:.1f} vol/s (CPU {p.cpu_ms_per_delete:.1f} ms), "
                      f"client CPU {p.client_cpu_ms_per_create:.1f} ms per create, "
                      f"check {p.inconsistencies}; load {p.load_create} / {p.load_delete}",
                      flush=True)
    summary = {conc: median_phase([r[conc] for r in rounds]) for conc in args.clients}
    print(f"median of {args.rounds} rounds ({args.database}, {args.instances} instance(s), "
          f"{args.workers} worker(s) each):")
    for conc, m in summary.items():
        print(f"  {conc} client(s): create {m['create_vol_s']:.1f} vol/s, delete "
              f"{m['delete_vol_s']:.1f} vol/s, create p50 {m['create_p50_ms']:.1f} ms, done at "
              f"first poll {100 * m['done_at_first_poll']:.0f} %, server CPU per create / delete "
              f"{m['cpu_ms_per_create']:.1f} / {m['cpu_ms_per_delete']:.1f} ms, inconsistencies "
              f"{m['inconsistencies']}; loads {', '.join(m['loads'])}")
    return {"mode": "throughput", "database": args.database, "instances": args.instances,
            "workers": args.workers,
            "rounds": args.rounds, "volumes": args.volumes, "median": summary}


# -- scale ------------------------------------------------------------------------------

def preload_export(dump: dict, count: int) -> dict:
    """Add ``count`` 1 GiB replica-3 volumes (bricks on 3 different nodes, devices taken
    round-robin) to a dump of a topology without volumes."""
    from pyketi.ids import new_id

    (cid, cluster), = dump["clusterentries"].items()
    nodes = sorted(dump["nodeentries"])
    hosts = [dump["nodeentries"][n]["Info"]["hostnames"]["storage"][0] for n in nodes]
    devs = {n: dump["nodeentries"][n]["Devices"] for n in nodes}
    turn = 0
    for i in range(count):
        vid = new_id()
        name = f"vol_{vid}"
        brick_ids = []
        for k in range(3):
            node = nodes[(i + k) % len(nodes)]
            device = devs[node][(turn // len(nodes)) % len(devs[node])]
            turn += 1
            bid = new_id()
            brick_ids.append(bid)
            dev = dump["deviceentries"][device]
            dev["Bricks"].append(bid)
            st = dev["Info"]["storage"]
            st["free"] -= BRICK_SPACE_1G
            st["used"] += BRICK_SPACE_1G
            dump["brickentries"][bid] = {
                "Info": {"id": bid, "path": f"/var/lib/heketi/mounts/vg_{device}/brick_{bid}"
                                            "/brick", "device": device, "node": node,
                         "volume": vid, "size": GIB_KIB},
                "TpSize": GIB_KIB, "PoolMetadataSize": 8192, "Pending": {"Id": ""},
                "LvmThinPool": f"tp_{bid}", "LvmLv": "", "SubType": 1}
        dump["volumeentries"][vid] = {
            "Info": {"size": 1, "name": name,
                     "durability": {"type": "replicate", "replicate": {"replica": 3},
                                    "disperse": {}},
                     "snapshot": {"enable": False, "factor": 1}, "id": vid, "cluster": cid,
                     "mount": {"glusterfs": {"hosts": hosts, "device": f"{hosts[0]}:{name}",
                                             "options": {"backup-volfile-servers":
                                                         ",".join(hosts[1:])}}},
                     "blockinfo": {}},
            "Bricks": sorted(brick_ids), "GlusterVolumeOptions": ["", ""],
            "Pending": {"Id": ""}}
        cluster["Info"]["volumes"].append(vid)
    for dev in dump["deviceentries"].values():
        dev["Bricks"].sort()
    cluster["Info"]["volumes"].sort()
    return dump


async def timed_get(c: Client, path: str, ok: tuple[int, ...] = (200,)
                    ) -> tuple[float, int, int]:
    """(seconds, body bytes, status) of one GET, the body read to its end."""
    t0 = time.perf_counter()
    status, _, body = await c.call("GET", path)
    if status not in ok:
        raise RuntimeError(f"GET {path}: {status}")
    return time.perf_counter() - t0, len(body), status


def topology_info_seconds(base: str) -> float:
    """``Client.topology_info`` (pyketi's client: ``GET /topology``, or heketi's
    per-object composition from a server without that route)."""
    from pyketi.client.api import Client as SyncClient

    client = SyncClient(base, "admin", KEY)
    t0, cpu0 = time.perf_counter(), time.thread_time()
    info = client.topology_info()
    elapsed = time.perf_counter() - t0
    topology_info_seconds.cpu = time.thread_time() - cpu0  # type: ignore[attr-defined]
    assert info["clusters"], info
    return elapsed


def cli_topology_info_seconds(base: str) -> float:
    """``pyketi-cli topology info`` (text output), start to exit."""
    env = {**clean_env(), "HEKETI_CLI_SERVER": base, "HEKETI_CLI_USER": "admin",
           "HEKETI_CLI_KEY": KEY}
    t0, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "pyketi.cli", "topology", "info"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the CLI's CPU, start to exit
    cli_topology_info_seconds.cpu = (  # type: ignore[attr-defined]
        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if done.returncode != 0 or b"Cluster Id:" not in done.stdout:
        raise RuntimeError(f"pyketi-cli topology info: {done.returncode} {done.stderr[-300:]!r}")
    return elapsed


async def scale_measure(base: str, pid: int, creates: int, with_topology: bool) -> dict:
    async with aiohttp.ClientSession() as session:
        c = Client(session, base, 0.01)
        out: dict = {}
        lat = []
        cpu0 = cpu_seconds([pid])
        for _ in range(creates):
            lat.append((await c.run("POST", "/volumes", REPLICA3)).seconds)
        out["create_cpu_ms"] = 1000 * (cpu_seconds([pid]) - cpu0) / creates
        out["create_p50_ms"] = 1000 * statistics.median(lat)
        out["load_create"] = loadavg()
        # server CPU per read: the figure that carries over from one load to another
        for key, path, ok in (("volumes", "/volumes", (200,)), ("dump", "/db/dump", (200,)),
                              ("topology", "/topology", (200, 404))):
            cpu0 = cpu_seconds([pid])
            seconds, size, status = await timed_get(c, path, ok)
            if status != 200:  # a server without GET /topology
                continue
            out[f"{key}_s"], out[f"{key}_bytes"] = seconds, size
            out[f"{key}_cpu_s"] = cpu_seconds([pid]) - cpu0
        if with_topology:
            loop = asyncio.get_running_loop()
            out["topology_info_s"] = await loop.run_in_executor(None, topology_info_seconds,
                                                                base)
            out["topology_info_cpu_s"] = topology_info_seconds.cpu  # type: ignore[attr-defined]
            out["cli_topology_info_s"] = await loop.run_in_executor(
                None, cli_topology_info_seconds, base)
            out["cli_topology_info_cpu_s"] = (
                cli_topology_info_seconds.cpu)  # type: ignore[attr-defined]
        out["rss_mib"], out["rss_peak_mib"] = rss_mib(pid)
        out["load"] = loadavg()
        return out


def run_scale(args: argparse.Namespace) -> dict:
    device_gib = 2000  # room for 10,000 x 3 one-GiB bricks on 32 devices
    results: dict[str, list[dict]] = {"empty": [], "preloaded": []}
    with tempfile.TemporaryDirectory() as tmp:
        # the topology, loaded through the API once, exported as the base of every round
        with database(args.database, tmp, args.pg_url) as url, \
                servers(tmp, url, 1, device_gib) as procs:
            async def topo() -> dict:
                async with aiohttp.ClientSession() as session:
                    c = Client(session, procs[0][0], 0.01)
                    await load_topology(c)
                    return json.loads((await c.call("GET", "/db/dump"))[2])
            base_dump = asyncio.run(topo())
        for attr in ("DB_GENERATION_ID",):
            base_dump["dbattributeentries"].pop(attr, None)
        t0 = time.perf_counter()
        loaded = preload_export(json.loads(json.dumps(base_dump)), args.scale)
        export_path = Path(tmp, "preload.json")
        export_path.write_text(json.dumps(loaded))
        print(f"export of {args.scale} volumes written in {time.perf_counter() - t0:.1f} s",
              flush=True)
        empty_path = Path(tmp, "empty.json")
        empty_path.write_text(json.dumps(base_dump))
        for r in range(args.rounds):
            for label, path in (("empty", empty_path), ("preloaded", export_path)):
                with database(args.database, tmp, args.pg_url) as url:
                    config = write_config(tmp, url, free_port(), device_gib)
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "pyketi", "db", "import", "--config",
                                    str(config), "--jsonfile", str(path)], check=True,
                                   env=clean_env(), stdout=subprocess.DEVNULL)
                    imported = time.perf_counter() - t0
                    with servers(tmp, url, 1, device_gib) as procs:
                        (base, pid), = procs
                        out = asyncio.run(scale_measure(
                            base, pid, args.scale_creates,
                            with_topology=r < args.topology_rounds))
                    out["import_s"] = imported
                results[label].append(out)
                print(f"round {r + 1} {label}: " + ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in out.items()), flush=True)
    summary = {}
    for label, rows in results.items():
        keys = {k for row in rows for k, v in row.items() if isinstance(v, (int, float))}
        summary[label] = {k: statistics.median(row[k] for row in rows if k in row)
                          for k in sorted(keys)}
        summary[label]["loads"] = [row["load"] for row in rows]
    ratio = summary["preloaded"]["create_p50_ms"] / summary["empty"]["create_p50_ms"]
    pre = summary["preloaded"]

    def fig(key: str, unit: str = "s", digits: int = 3) -> str:
        return f"{pre[key]:.{digits}f} {unit}" if key in pre else "-"

    print(f"median of {args.rounds} rounds, {args.scale} volumes ({args.database}): create p50 "
          f"{pre['create_p50_ms']:.1f} ms vs {summary['empty']['create_p50_ms']:.1f} ms empty "
          f"({ratio:.2f}x), server CPU per create {pre['create_cpu_ms']:.1f} ms vs "
          f"{summary['empty']['create_cpu_ms']:.1f} ms; GET /volumes {fig('volumes_s')} (server CPU "
          f"{fig('volumes_cpu_s')}), /db/dump {fig('dump_s')} (CPU {fig('dump_cpu_s')}), "
          f"GET /topology {fig('topology_s')} (CPU {fig('topology_cpu_s')}), client "
          f"topology_info {fig('topology_info_s')} (CPU {fig('topology_info_cpu_s')}), "
          f"pyketi-cli topology info {fig('cli_topology_info_s')} (CPU "
          f"{fig('cli_topology_info_cpu_s')}); RSS {pre['rss_mib']:.0f} MiB (peak "
          f"{pre['rss_peak_mib']:.0f}); import {pre['import_s']:.1f} s; loads "
          f"{', '.join(pre['loads'])}")
    return {"mode": "scale", "database": args.database, "volumes": args.scale,
            "rounds": args.rounds, "median": summary, "create_ratio": ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--volumes", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="1,8", help="comma-separated client counts")
    ap.add_argument("--poll-ms", type=float, default=10.0)
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL,
                    help="PostgreSQL server to create the bench databases on")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes per server (the workers setting)")
    ap.add_argument("--scale", type=int, default=0,
                    help="measure a database preloaded with this many volumes instead")
    ap.add_argument("--scale-creates", type=int, default=30)
    ap.add_argument("--topology-rounds", type=int, default=1000,
                    help="--scale: time the client's and pyketi-cli's topology info in the "
                         "first N rounds only (heketi's per-object composition takes minutes)")
    ap.add_argument("--json", help="append the summary as one JSON line to this file")
    args = ap.parse_args()
    args.clients = [int(x) for x in args.clients.split(",")]
    print(f"load average at start: {loadavg()}", flush=True)
    result = run_scale(args) if args.scale else run_throughput(args)
    result["load_end"] = loadavg()
    result["when"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
