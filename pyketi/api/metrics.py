"""``GET /metrics``: heketi's Prometheus metric names (``pkg/metrics/metrics.go``), plus
pyketi's own:

* ``pyketi_http_request_duration_seconds{method,route}``: request latency, labelled
  with the route's pattern (``/volumes/{id}``), never the raw path;
* ``pyketi_operation_duration_seconds{kind,result}``: how long operations ran;
  result is ``done``, ``failed`` (left for the cleaner, or a delete whose marks were
  lifted), ``rolled_back``, or ``cleaned_done``/``cleaned_rolled_back`` (finished by
  the background cleaner after a restart or a failed undo);
* ``pyketi_operations_failed_total{kind}`` (results failed and rolled_back) and
  ``pyketi_operations_rolled_back_total{kind}`` (rolled_back and cleaned_rolled_back).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

from pyketi.api import access
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
        counts = queries.topology_counts(s)
        ccount = g("heketi_cluster_count", "Number of clusters")
        ccount.add_metric([], len(counts["clusters"]))
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
        for cid in counts["clusters"]:
            nodes = counts["nodes"].get(cid, [])
            vols.add_metric([cid], counts["volumes"].get(cid, 0))
            bvols.add_metric([cid], counts["block_volumes"].get(cid, 0))
            ncount.add_metric([cid], len(nodes))
            for n in nodes:
                devices = counts["devices"].get(n.id, [])
                dcount.add_metric([cid, n.manage, n.storage], len(devices))
                for d in devices:
                    labels = [cid, n.manage, n.storage, d.id, d.name, d.pv_uuid]
                    for fam, fam_b, value in ((size, size_b, d.total), (free, free_b, d.free),
                                              (used, used_b, d.used)):
                        fam.add_metric(labels, value)
                        fam_b.add_metric(labels, value * 1024)
                    bricks.add_metric(labels, counts["bricks"].get(d.id, 0))
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


REQUEST_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
OPERATION_BUCKETS = (.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


def make_registry(rt: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TopologyCollector(rt))
    ProcessCollector(registry=registry)
    return registry


def observe(app: web.Application, rt: Runtime, registry: CollectorRegistry) -> None:
    """Record request latency and operation outcomes into ``registry``."""
    requests = Histogram("pyketi_http_request_duration_seconds",
                         "Time to answer a request, by route pattern",
                         ["method", "route"], buckets=REQUEST_BUCKETS, registry=registry)
    durations = Histogram("pyketi_operation_duration_seconds",
                          "Time an operation ran, by kind and result", ["kind", "result"],
                          buckets=OPERATION_BUCKETS, registry=registry)
    failed = Counter("pyketi_operations_failed", "Operations that failed", ["kind"],
                     registry=registry)
    rolled_back = Counter("pyketi_operations_rolled_back",
                          "Operations whose changes were undone", ["kind"], registry=registry)

    def request_done(request: web.Request, route: str, _status: int, seconds: float) -> None:
        requests.labels(request.method, route).observe(seconds)

    def operation_done(kind: str, result: str, seconds: float, _op_id: str) -> None:
        durations.labels(kind, result).observe(seconds)
        if result in ("failed", "rolled_back"):
            failed.labels(kind).inc()
        if result in ("rolled_back", "cleaned_rolled_back"):
            rolled_back.labels(kind).inc()

    app.setdefault(access.OBSERVERS, []).append(request_done)
    rt.runner.operation_observers.append(operation_done)


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    body = await runtime(request).db.run_sync(lambda: generate_latest(registry))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", metrics)



