"""``GET /metrics``: heketi's Prometheus metric names (``pkg/metrics/metrics.go``)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

from pyketi.api.context import runtime
from pyketi.db import queries
from pyketi.operations.runtime import Runtime

DEVICE_LABELS = ["cluster", "hostname", "storage_hostname", "id", "device", "pv_uuid"]
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics_registry", CollectorRegistry)


class TopologyCollector:
    def __init__(self, rt: Runtime):
        self.rt = rt

    def collect(self):
        return self.rt.db.read_sync(self._families)

    def _families(self, s):
        g = GaugeMetricFamily
        up = g("heketi_up", "Is heketi running?")
        up.add_metric([], 1)
        clusters = queries.clusters(s)
        ccount = g("heketi_cluster_count", "Number of clusters")
        ccount.add_metric([], len(clusters))
        vols = g("heketi_volumes_count", "Number of volumes on cluster", labels=["cluster"])
        bvols = g("heketi_block_volumes_count", "Number of block volumes on cluster",
                  labels=["cluster"])
        ncount = g("heketi_nodes_count", "Number of nodes on cluster", labels=["cluster"])
        dcount = g("heketi_device_count", "Number of devices on host",
                   labels=["cluster", "hostname", "storage_hostname"])
        size, free, used = (g(f"heketi_device_{k}", f"Amount of {k} space on device (KiB)",
                              labels=DEVICE_LABELS) for k in ("size", "free", "used"))
        size_b, free_b, used_b = (g(f"heketi_device_{k}_bytes",
                                    f"Amount of {k} space on device (bytes)",
                                    labels=DEVICE_LABELS) for k in ("size", "free", "used"))
        bricks = g("heketi_device_brick_count", "Number of bricks on device",
                   labels=DEVICE_LABELS)
        for c in clusters:
            nodes = [n for n in c.nodes if n.pending_op is None]
            vols.add_metric([c.id], sum(1 for v in c.volumes if v.pending_op is None))
            bvols.add_metric([c.id], 0)
            ncount.add_metric([c.id], len(nodes))
            for n in nodes:
                devices = [d for d in n.devices if d.pending_op is None]
                dcount.add_metric([c.id, n.manage, n.storage], len(devices))
                for d in devices:
                    labels = [c.id, n.manage, n.storage, d.id, d.name, d.pv_uuid]
                    for fam, fam_b, value in ((size, size_b, d.total), (free, free_b, d.free),
                                              (used, used_b, d.used)):
                        fam.add_metric(labels, value)
                        fam_b.add_metric(labels, value * 1024)
                    bricks.add_metric(labels, len(d.bricks))
        ops = queries.operation_statuses(s)
        op_fams = []
        for name, value in (("stale", ops.count("stale")), ("failed", ops.count("failed")),
                            ("new", ops.count("")), ("total", len(ops)),
                            ("inFlight", self.rt.runner.inflight)):
            fam = g(f"heketi_operations_{name}_count", f"Count of {name} operations")
            fam.add_metric([], value)
            op_fams.append(fam)
        return [up, ccount, vols, bvols, ncount, dcount, size, free, used, size_b, free_b,
                used_b, bricks, *op_fams]


def make_registry(rt: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TopologyCollector(rt))
    ProcessCollector(registry=registry)
    return registry


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    body = await runtime(request).db.run_sync(lambda: generate_latest(registry))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", metrics)



