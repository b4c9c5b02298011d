"""Benchmark pyketi.placement.place_volume on a large cluster.

Builds 1,000 nodes x 20 devices of 500 GiB spread over 3 zones (20,000
candidates), then times place_volume for several volume shapes and prints
p50 / p95 / max in milliseconds.  Run from the repository root:

    /work/main/.venv/bin/python bench/placement_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyketi.placement import (  # noqa: E402
    DeviceCandidate,
    Durability,
    Limits,
    PlacementError,
    VolumeSpec,
    place_volume,
)

GIB_KIB = 1024 * 1024
NODES, DEVICES_PER_NODE, ZONES, DEVICE_GIB = 1000, 20, 3, 500


def build_cluster(rng: random.Random) -> list[DeviceCandidate]:
    """20,000 online devices; a tenth of the nodes tagged arbiter=required."""
    devices = []
    for n in range(NODES):
        node_id = f"{rng.getrandbits(128):032x}"
        tags = {"arbiter": "required"} if n % 10 == 0 else {}
        for _ in range(DEVICES_PER_NODE):
            devices.append(DeviceCandidate(
                id=f"{rng.getrandbits(128):032x}", node_id=node_id, zone=n % ZONES + 1,
                free_kib=DEVICE_GIB * GIB_KIB, tags=tags))
    return devices


SHAPES = {
    "100 GiB replica 3": VolumeSpec(100, Durability("replicate", replica=3)),
    "1 TiB replica 3": VolumeSpec(1024, Durability("replicate", replica=3)),
    "500 GiB disperse 4+2": VolumeSpec(500, Durability("disperse", data=4, redundancy=2)),
    "100 GiB replica 3 arbiter": VolumeSpec(100, Durability("replicate", replica=3), arbiter=True),
    "100 GiB replica 3 strict zones": VolumeSpec(100, Durability("replicate", replica=3), zone_strict=True),
    "20 TiB replica 3 (No space)": VolumeSpec(20480, Durability("replicate", replica=3)),
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="placements per shape")
    args = parser.parse_args()

    rng = random.Random(42)
    devices = build_cluster(rng)
    limits = Limits()
    print(f"{len(devices)} candidate devices on {NODES} nodes in {ZONES} zones, "
          f"{DEVICE_GIB} GiB each; {args.repeat} placements per shape")
    print("wall-clock p50/p95/max, and p50 of process CPU time (less sensitive to a busy host)")
    print(f"{'shape':34} {'sets':>4} {'bricks':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8}")
    for name, spec in SHAPES.items():
        timings, cpu_timings, outcome = [], [], None
        for _ in range(args.repeat):
            start, cpu_start = time.perf_counter(), time.process_time()
            try:
                outcome = place_volume(devices, spec, limits, rng=rng)
            except PlacementError as exc:
                outcome = exc
            timings.append((time.perf_counter() - start) * 1000)
            cpu_timings.append((time.process_time() - cpu_start) * 1000)
        if isinstance(outcome, PlacementError):
            sets, bricks = "-", "-"
        else:
            sets, bricks = str(len(outcome.sets)), str(len(outcome.bricks))
        print(f"{name:34} {sets:>4} {bricks:>6} {statistics.median(timings):8.2f} "
              f"{percentile(timings, 0.95):8.2f} {max(timings):8.2f} {statistics.median(cpu_timings):8.2f}")
        if isinstance(outcome, PlacementError):
            print(f"    -> {outcome}")


if __name__ == "__main__":
    main()
