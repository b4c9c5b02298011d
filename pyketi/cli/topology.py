"""``topology load|info`` (heketi-spec §4, heketi-cli cmds/topology.go).

``load`` is additive and idempotent: nodes are matched by their first
management hostname in any cluster, devices by path on that node, both
against one snapshot of the topology taken before any change; only what is
missing is created.  Output lines are heketi-cli's.  Unlike heketi-cli, a
load in which some node or device could not be added exits non-zero (after
trying everything else).  ``--dry-run`` prints the plan and changes nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyketi.cli import output
from pyketi.cli.args import Commands
from pyketi.cli.context import CliError, Context
from pyketi.client import PyketiError
from pyketi.client.models import NodeInfo, TopologyInfo

if TYPE_CHECKING:
    from pyketi.cli.topology_file import ClusterSpec, NodeSpec

# ``topology_file`` (load) and ``gotemplate`` (info -T) are imported where they are
# used: every pyketi-cli command imports this module, few need them


@dataclass
class LoadResult:
    clusters: int = 0
    nodes: int = 0
    devices: int = 0
    failures: list[str] = field(default_factory=list)


class Loader:
    def __init__(self, ctx: Context, current: TopologyInfo, dry_run: bool) -> None:
        self.ctx = ctx
        self.dry_run = dry_run
        self.result = LoadResult()
        self.created_clusters: list[str] = []
        # Lookups use this one snapshot, as heketi-cli does.
        self.nodes: dict[str, NodeInfo] = {
            n["hostnames"]["manage"][0]: n
            for c in current["clusters"] for n in c["nodes"] if n["hostnames"]["manage"]}

    def line(self, text: str) -> None:
        self.ctx.print(text + "\n")

    def run(self, clusters: list[ClusterSpec]) -> LoadResult:
        try:
            for cluster in clusters:
                self.load_cluster(cluster)
        finally:
            self.remove_empty_clusters()
        return self.result

    def load_cluster(self, cluster: ClusterSpec) -> None:
        cluster_id: str | None = None
        for node in cluster.nodes:
            existing = self.nodes.get(node.manage_host)
            if existing is not None:
                cluster_id = existing["cluster"]
                self.line(f"\tFound node {node.manage_host} on cluster {cluster_id}")
                self.load_devices(node, existing["id"], {d["name"] for d in existing["devices"]})
                continue
            if cluster_id is None:
                cluster_id = self.create_cluster(cluster)
            node_id = self.create_node(node, cluster_id)
            if node_id is not None:
                self.load_devices(node, node_id, set())

    def create_cluster(self, cluster: ClusterSpec) -> str:
        allowed = "".join(f"\n\tAllowing {kind} volumes on cluster."
                          for kind, on in (("file", cluster.file), ("block", cluster.block))
                          if on)
        self.result.clusters += 1
        if self.dry_run:
            self.line(f"Would create cluster{allowed}")
            return "(new cluster)"
        with self.ctx.wait("Creating cluster"):
            info = self.ctx.client.cluster_create(block=cluster.block, file=cluster.file)
        self.created_clusters.append(info["id"])
        self.line(f"Creating cluster ... ID: {info['id']}{allowed}")
        return info["id"]

    def create_node(self, node: NodeSpec, cluster_id: str) -> str | None:
        self.result.nodes += 1
        if self.dry_run:
            self.line(f"\tWould create node {node.manage_host} (zone {node.zone}, "
                      f"storage {node.storage[0]})")
            return "(new node)"
        try:
            with self.ctx.wait(f"Creating node {node.manage_host}"):
                info = self.ctx.client.node_add(cluster=cluster_id, zone=node.zone,
                                                manage=node.manage, storage=node.storage,
                                                tags=node.tags)
        except PyketiError as exc:
            if exc.status == 0:  # the server is gone: nothing else will work
                raise
            self.line(f"\tCreating node {node.manage_host} ... Unable to create node: {exc}")
            self.result.failures.append(f"node {node.manage_host}: {exc}")
            return None
        self.line(f"\tCreating node {node.manage_host} ... ID: {info['id']}")
        return info["id"]

    def load_devices(self, node: NodeSpec, node_id: str, known: set[str]) -> None:
        for device in node.devices:
            if device.name in known:
                self.line(f"\t\tFound device {device.name}")
                continue
            self.result.devices += 1
            if self.dry_run:
                self.line(f"\t\tWould add device {device.name}")
                continue
            try:
                with self.ctx.wait(f"Adding device {device.name} on {node.manage_host}"):
                    self.ctx.client.device_add(node=node_id, name=device.name,
                                               tags=device.tags,
                                               destroydata=device.destroydata)
            except PyketiError as exc:
                if exc.status == 0:
                    raise
                self.line(f"\t\tAdding device {device.name} ... Unable to add device: {exc}")
                self.result.failures.append(
                    f"device {device.name} on {node.manage_host}: {exc}")
                continue
            self.line(f"\t\tAdding device {device.name} ... OK")

    def remove_empty_clusters(self) -> None:
        """heketi-cli's deferred cleanup: clusters this run created that got
        no node are deleted again."""
        for cluster_id in self.created_clusters:
            try:
                info = self.ctx.client.cluster_info(cluster_id)
                if not info["nodes"] and not info["volumes"]:
                    self.ctx.client.cluster_delete(cluster_id)
            except PyketiError:
                pass  # best effort, like heketi-cli


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def load(ctx: Context, args: argparse.Namespace) -> None:
    from pyketi.cli import topology_file
    if not args.topology_file:
        raise CliError("Missing configuration file (--json=FILE)")
    try:
        topology = topology_file.load(args.topology_file)
    except topology_file.TopologyFileError as exc:
        raise CliError(str(exc)) from None
    for warning in topology.warnings:
        ctx.warn(warning)
    with ctx.wait("Reading current topology"):
        current = ctx.client.topology_info()
    result = Loader(ctx, current, args.dry_run).run(topology.clusters)
    if args.dry_run:
        ctx.print(f"Dry run: would create {_plural(result.clusters, 'cluster')}, "
                  f"{_plural(result.nodes, 'node')} and {_plural(result.devices, 'device')}; "
                  "nothing was changed.\n")
    if result.failures:
        raise CliError(f"{len(result.failures)} of {result.nodes + result.devices} nodes "
                       f"and devices could not be added; first: {result.failures[0]}")


def info(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Reading topology"):
        topology = ctx.client.topology_info()
    if args.template and not ctx.json:
        from pyketi.cli import gotemplate
        try:
            text = gotemplate.render(args.template, topology)
        except gotemplate.TemplateError as exc:
            raise CliError(str(exc)) from None
        ctx.print(text)
        return
    ctx.result(topology, output.topology_text(topology))


def register(sub: object) -> None:
    group = Commands(sub, "topology", "Heketi topology management")
    p = group.leaf("load", load, "Add devices to Heketi from a configuration file",
                   json_flag=False,
                   epilog="examples:\n  pyketi-cli topology load --json=topology.json\n"
                          "  pyketi-cli topology load --json=topology.json --dry-run")
    p.add_argument("-j", "--json", dest="topology_file", metavar="FILE", default="",
                   help="topology file: clusters, nodes and devices in JSON")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be added; change nothing")
    p = group.leaf("info", info, "Retrieves information about the current Topology",
                   epilog="examples:\n  pyketi-cli topology info\n"
                          "  pyketi-cli topology info -T '{{range .ClusterList}}"
                          "{{range .Nodes}}{{println .Id .State}}{{end}}{{end}}'\n\n"
                          "Templates are Go text/template (as heketi-cli's), run over the\n"
                          "topology with heketi's field names: .ClusterList, .Nodes,\n"
                          ".DevicesInfo, .Bricks, .Volumes, .Hostnames.Manage, .Storage.Total\n"
                          "(KiB), ...; functions join, kibToGib, entryStateString, printf,\n"
                          "println, len, eq, ne, index, and, or, not.")
    p.add_argument("-T", "--template", default="", metavar="GO_TEMPLATE",
                   help="custom Go template for formatting topology info output")
