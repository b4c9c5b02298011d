#!/usr/bin/env python3
"""Lab benchmark: pyketi on the 3-VM QEMU lab, per API operation:
wall time, SSH connections opened and remote calls (one per command batch).

The pyketi server (SQLite, ssh executor) runs in-process inside the lab netns
so the SshTransport counters can be read around every operation; the client
talks HTTP to it like any other client.

    python bench/lab_bench.py                 # lab up, bench, lab down
    python bench/lab_bench.py --reuse         # use a lab that is already up, leave it up
    python bench/lab_bench.py --rounds 3 --json /tmp/lab-bench.json
    python bench/lab_bench.py --reuse --rounds 3 --size 2   # the issue-9 table

Each round also runs the same node commands "by hand" (``bench/lab_by_hand.py``:
one exec per command over one SSH connection per node, no server): the floor
under pyketi's figures on this lab. The load average (``/proc/loadavg``) is
sampled before and after every round.

Numbers go into docs/lab.md ("Measured").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "lab"))

from lab_by_hand import ByHand  # noqa: E402
from vmlab import VmLab  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run_bench(lab: VmLab, rounds: int, workdir: Path, size: int = 1,
                    by_hand_rounds: int = 0) -> dict:
    from aiohttp import web

    from pyketi.api.app import build_app
    from pyketi.client.api import Client
    from pyketi.config import load_config
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    from pyketi.executors.factory import make_executor
    from pyketi.executors.transports.ssh import SshTransport
    from pyketi.operations.runtime import Runtime

    port = 18080
    cfg_path = workdir / "heketi.json"
    cfg_path.write_text(json.dumps({
        "port": str(port),
        "jwt": {"admin": {"key": ADMIN_KEY}, "user": {"key": "bench-user-key-0123456789"}},
        "glusterfs": {"executor": "ssh", "db": str(workdir / "heketi.db"),
                      "sshexec": lab.sshexec_config(),
                      "disable_monitor_gluster_nodes": True,
                      "disable_background_cleaner": True},
    }))
    cfg = load_config(str(cfg_path))
    db = Database(cfg.database_url)
    ensure_schema(db.engine, db.url)
    transports: list[SshTransport] = []

    def factory(section):
        t = SshTransport.from_config(section)
        transports.append(t)
        return t

    executor = make_executor(dict(cfg.glusterfs, executor="ssh"), ssh_transport_factory=factory)
    rt = Runtime(cfg, db, executor)
    await rt.start()
    runner = web.AppRunner(build_app(rt), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    client = Client(f"http://127.0.0.1:{port}", "admin", ADMIN_KEY, timeout=120)

    def counters() -> tuple[int, int]:
        return (sum(t.connections_opened for t in transports),
                sum(t.remote_calls for t in transports))

    results: dict[str, list[dict]] = {}
    loads: list[str] = [load_average()]
    hand: ByHand | None = None

    async def timed(label: str, coro):
        t0 = time.monotonic()
        out = await coro
        results.setdefault(label, []).append({
            "seconds": round(time.monotonic() - t0, 2), "connections": 0,
            "remote_calls": None})
        return out

    async def op(label: str, fn, *a, **kw):
        c0, t0 = counters(), time.monotonic()
        out = await asyncio.to_thread(fn, *a, **kw)
        c1 = counters()
        results.setdefault(label, []).append({
            "seconds": round(time.monotonic() - t0, 2),
            "connections": c1[0] - c0[0], "remote_calls": c1[1] - c0[1]})
        return out

    try:
        cluster = await op("cluster create", client.cluster_create)
        nodes = []
        for i, n in enumerate(lab.nodes):
            nodes.append(await op("node add", client.node_add, cluster=cluster["id"],
                                  zone=i + 1, manage=n.ip, storage=n.ip))
        for n, node in zip(lab.nodes, nodes):
            for dev in n.devices:
                await op("device add", client.device_add, node=node["id"], name=dev)
        if by_hand_rounds:
            topo = await asyncio.to_thread(client.topology_info)
            hand = ByHand(SshTransport.from_config(lab.sshexec_config()), {
                nd["hostnames"]["manage"][0]: nd["devices"][0]["id"]
                for cl in topo["clusters"] for nd in cl["nodes"]})
            await hand.connect()
        create, expand = (f"volume create (replica 3, {size} GiB)",
                          f"volume expand (+{size} GiB: 2x3)")
        for r in range(max(rounds, by_hand_rounds)):
            if r < rounds:
                vol = await op(create, client.volume_create,
                               size=size, durability="replicate", replica=3)
                await op(expand, client.volume_expand, vol["id"], size)
                await op("volume delete (2x3)", client.volume_delete, vol["id"])
                vol = await op(create, client.volume_create,
                               size=size, durability="replicate", replica=3)
                await op("volume delete (1x3)", client.volume_delete, vol["id"])
            if hand is not None and r < by_hand_rounds:
                hvol = await timed(f"by hand: {create}", hand.create(size))
                await timed(f"by hand: {expand}", hand.expand(hvol, size))
                await timed("by hand: volume delete (2x3)", hand.delete(hvol))
            loads.append(load_average())
        topo = await asyncio.to_thread(client.topology_info)
        for cl in topo["clusters"]:
            for nd in cl["nodes"]:
                for d in nd["devices"]:
                    await asyncio.to_thread(client.device_set_state, d["id"], "offline")
                    await asyncio.to_thread(client.device_set_state, d["id"], "failed")
                    await op("device delete", client.device_delete, d["id"])
                await asyncio.to_thread(client.node_set_state, nd["id"], "offline")
                await asyncio.to_thread(client.node_set_state, nd["id"], "failed")
                await op("node delete", client.node_delete, nd["id"])
            await op("cluster delete", client.cluster_delete, cl["id"])
    finally:
        if hand is not None:
            await hand.transport.close()
        await runner.cleanup()
        await rt.stop()
        await executor.close()
        db.dispose()

    summary = {}
    for name, rows in results.items():
        secs = [r["seconds"] for r in rows]
        summary[name] = {
            "n": len(rows),
            "median_s": round(statistics.median(secs), 1),
            "min_s": round(min(secs), 1), "max_s": round(max(secs), 1),
            "connections": [r["connections"] for r in rows],
            "remote_calls": sorted({r["remote_calls"] for r in rows
                                    if r["remote_calls"] is not None}),
        }
    per_command = {} if hand is None else {
        k: {"n": len(v), "median_s": round(statistics.median(v), 2)}
        for k, v in sorted(hand.per_command.items())}
    return {"rounds": rounds, "by_hand_rounds": by_hand_rounds, "size_gib": size,
            "operations": summary, "raw": results, "by_hand_per_command": per_command,
            "load_average": loads,
            "connections_total": counters()[0], "remote_calls_total": counters()[1]}


def markdown(report: dict) -> str:
    lines = ["| operation | n | median s (min-max) | SSH connections opened (all n) "
             "| remote calls per operation |",
             "| --- | --- | --- | --- | --- |"]
    for name, s in report["operations"].items():
        calls = s["remote_calls"]
        calls_txt = ("-" if not calls else str(calls[0]) if len(calls) == 1
                     else f"{calls[0]}-{calls[-1]}")
        lines.append(f"| {name} | {s['n']} | {s['median_s']} ({s['min_s']}-{s['max_s']}) | "
                     f"{sum(s['connections'])} | {calls_txt} |")
    if report.get("by_hand_per_command"):
        lines += ["", "| by hand: command | n | median s |", "| --- | --- | --- |"]
        lines += [f"| {k} | {v['n']} | {v['median_s']} |"
                  for k, v in report["by_hand_per_command"].items()]
    lines += ["", "load average (1/5/15 min) before and after each round: "
              + "; ".join(report.get("load_average", []))]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--size", type=int, default=1, help="GiB of each create and expand")
    ap.add_argument("--by-hand-rounds", type=int, default=None,
                    help="rounds of the same node commands run by hand (default: --rounds)")
    ap.add_argument("--reuse", action="store_true", help="use a running lab and leave it up")
    ap.add_argument("--json", help="write the full report here")
    a = ap.parse_args()
    lab = VmLab()
    reason = lab.unavailable_reason()
    if reason:
        print(f"lab unavailable: {reason}", file=sys.stderr)
        return 2
    started = False
    if not (a.reuse and lab.is_up()):
        t0 = time.monotonic()
        started = True
        try:
            lab.up(3)
        except BaseException:
            lab.down()
            raise
        print(f"lab up: {time.monotonic() - t0:.1f}s", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="pyketi-lab-bench-") as d:
            hand = a.rounds if a.by_hand_rounds is None else a.by_hand_rounds
            report = lab.run_in_netns(asyncio.run,
                                      run_bench(lab, a.rounds, Path(d), a.size, hand),
                                      timeout=7200)
    finally:
        if started and not a.reuse:
            lab.down()
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=2))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
