"""CSI overhead benchmark (not a test): what pyketi-csi adds to CreateVolume and
DeleteVolume over the REST calls they make.

A pyketi server (mock executor, 3 nodes x 1 device of 500 GiB, SQLite) runs in a
subprocess; the driver serves it on a unix socket in this process; a gRPC client
calls it as the external-provisioner would.  For each RPC the time spent inside
``pyketi.client`` requests (the REST calls, queue polling included) is summed,
so ``overhead = RPC wall time - REST time`` (gRPC, parameter parsing, naming,
index, logging).  The same volumes are also made with ``pyketi.client``
directly for comparison.  Medians of several rounds, with the load average.

    .venv/bin/python bench/csi_bench.py [--volumes 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from pyketi.client import Client
from pyketi.client import http as client_http
from pyketi.csi.backend import POLL, RestConfig
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg
from pyketi.csi.server import DriverConfig, build

KEY = "bench-admin-key-0123456789abcdef"
GIB = 1 << 30
CAP = pb.VolumeCapability(mount=pb.VolumeCapability.MountVolume(),
                          access_mode=pb.VolumeCapability.AccessMode(mode=5))


class RestClock:
    """Sums the wall time of ``Transport.request`` calls (one RPC at a time)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._lock = threading.Lock()
        self._original = client_http.Transport.request
        clock = self

        def timed(transport, *args, **kwargs):
            start = time.perf_counter()
            try:
                return clock._original(transport, *args, **kwargs)
            finally:
                with clock._lock:
                    clock.total += time.perf_counter() - start
        client_http.Transport.request = timed

    def take(self) -> float:
        with self._lock:
            value, self.total = self.total, 0.0
        return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = {"port": str(port), "bind": "127.0.0.1",
              "jwt": {"admin": {"key": KEY}, "user": {"key": KEY + "u"}},
              "database_url": f"sqlite:///{tmp}/bench.db",
              "glusterfs": {"executor": "mock", "max_inflight_operations": 16,
                            "disable_background_cleaner": True,
                            "disable_monitor_gluster_nodes": True}}
    Path(tmp, "c.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}
    with open(Path(tmp, "server.log"), "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pyketi", "serve", "--config",
                                 str(Path(tmp, "c.json"))], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if Client(url, "admin", KEY).hello():
                return proc, url
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def rounds(args, ctl, admin, clock) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in (
        "rest_create", "rest_delete", "csi_create", "csi_delete", "create_overhead",
        "delete_overhead", "create_rest_inside", "delete_rest_inside", "retry_create")}
    for r in range(args.rounds):
        for i in range(args.volumes):
            t = time.perf_counter()
            vol = admin.volume_create(size=1, name=f"rest-{r}-{i}", durability="replicate",
                                      replica=3, gid=3000 + i, snapshot_factor=1.0)
            out["rest_create"].append(time.perf_counter() - t)
            t = time.perf_counter()
            admin.volume_delete(vol["id"])
            out["rest_delete"].append(time.perf_counter() - t)
        for i in range(args.volumes):
            req = pb.CreateVolumeRequest(
                name=f"pvc-bench-{r}-{i}", volume_capabilities=[CAP],
                capacity_range=pb.CapacityRange(required_bytes=GIB),
                parameters={"volumetype": "replicate:3"})
            clock.take()
            t = time.perf_counter()
            vol = ctl.CreateVolume(req).volume
            wall = time.perf_counter() - t
            rest = clock.take()
            out["csi_create"].append(wall)
            out["create_rest_inside"].append(rest)
            out["create_overhead"].append(wall - rest)
            t = time.perf_counter()
            ctl.CreateVolume(req)                 # a provisioner retry: no REST create
            out["retry_create"].append(time.perf_counter() - t)
            clock.take()
            t = time.perf_counter()
            ctl.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vol.volume_id))
            wall = time.perf_counter() - t
            rest = clock.take()
            out["csi_delete"].append(wall)
            out["delete_rest_inside"].append(rest)
            out["delete_overhead"].append(wall - rest)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--volumes", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--log-level", default="INFO", help="driver log level (INFO as deployed)")
    args = ap.parse_args()
    logging.basicConfig(level=args.log_level, stream=open(os.devnull, "w"))
    tmp = tempfile.mkdtemp(prefix="csib", dir="/tmp")
    proc, url = start_server(tmp)
    server = channel = None
    try:
        admin = Client(url, "admin", KEY, poll=POLL)      # the driver's polling, for fairness
        cluster = admin.cluster_create()
        for i in range(3):
            node = admin.node_add(cluster=cluster["id"], zone=i + 1, manage=f"bench{i}",
                                  storage=f"192.0.2.{20 + i}")
            admin.device_add(node=node["id"], name="/dev/sdb")
        clock = RestClock()
        server, path = build(DriverConfig(endpoint=f"unix://{tmp}/csi.sock",
                                          mode="controller",
                                          rest=RestConfig(url, "admin", KEY)))
        channel = grpc.insecure_channel(f"unix://{path}")
        ctl = pbg.ControllerStub(channel)
        ctl.ListVolumes(pb.ListVolumesRequest())          # warm up the channel
        load_before = os.getloadavg()
        out = rounds(args, ctl, admin, clock)
        load_after = os.getloadavg()
        n = args.volumes * args.rounds
        print(f"{n} volumes (1 GiB replica 3, mock executor, SQLite), {args.rounds} rounds; "
              f"loadavg before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f},"
              f" after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}; "
              f"{os.cpu_count()} CPUs")
        print(f"CreateVolume: median {ms(out['csi_create'])}, REST inside "
              f"{ms(out['create_rest_inside'])}, overhead {ms(out['create_overhead'])} "
              f"(p95 {sorted(out['create_overhead'])[int(n * 0.95) - 1] * 1000:.1f} ms); "
              f"direct REST create {ms(out['rest_create'])}")
        print(f"DeleteVolume: median {ms(out['csi_delete'])}, REST inside "
              f"{ms(out['delete_rest_inside'])}, overhead {ms(out['delete_overhead'])} "
              f"(p95 {sorted(out['delete_overhead'])[int(n * 0.95) - 1] * 1000:.1f} ms); "
              f"direct REST delete {ms(out['rest_delete'])}")
        print(f"CreateVolume retry of an existing name: median {ms(out['retry_create'])}")
    finally:
        if channel is not None:
            channel.close()
        if server is not None:
            server.stop(None).wait()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
