"""``node add|info|list|delete|enable|disable|remove|settags|rmtags``."""

from __future__ import annotations

import argparse

from pyketi.cli import output, tags
from pyketi.cli.args import Commands, add_id
from pyketi.cli.context import CliError, Context
from pyketi.cli.state import state_handler
from pyketi.client.models import State, TagChange


def add(ctx: Context, args: argparse.Namespace) -> None:
    for message, value in (("Missing zone", args.zone),
                           ("Missing management hostname", args.manage),
                           ("Missing storage hostname", args.storage),
                           ("Missing cluster id", args.cluster)):
        if not value:
            raise CliError(message)
    with ctx.wait(f"Adding node {args.manage}"):
        node = ctx.client.node_add(cluster=args.cluster, zone=args.zone,
                                   manage=args.manage, storage=args.storage)
    ctx.result(node, output.node_added_text(node))


def info(ctx: Context, args: argparse.Namespace) -> None:
    node = ctx.client.node_info(args.id)
    ctx.result(node, output.node_text(node))


def list_(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client
    lines = []
    for cluster_id in client.cluster_list()["clusters"]:
        for node_id in client.cluster_info(cluster_id)["nodes"]:
            lines.append(f"Id:{node_id}\tCluster:{cluster_id}\n")
    ctx.print("".join(lines))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Deleting node {args.id}"):
        ctx.client.node_delete(args.id)
    ctx.print(f"Node {args.id} deleted\n")


def _set_state(ctx: Context, node_id: str, state: State, healcheck: str) -> None:
    ctx.client.node_set_state(node_id, state, healcheck=healcheck)


def _submit_tags(ctx: Context, node_id: str, new: dict[str, str], change: TagChange) -> dict[str, str]:
    return ctx.client.node_set_tags(node_id, new, change)


def register(sub: object) -> None:
    group = Commands(sub, "node", "Heketi node management")
    p = group.leaf("add", add, "Add new node to be managed by Heketi",
                   epilog="example:\n  pyketi-cli node add --zone=1 --cluster=CLUSTER_ID \\\n"
                          "      --management-host-name=node1 --storage-host-name=192.0.2.11")
    p.add_argument("--zone", type=int, help="zone (failure domain) of the node, >= 1")
    p.add_argument("--cluster", help="cluster the node joins")
    p.add_argument("--management-host-name", dest="manage", help="management host name")
    p.add_argument("--storage-host-name", dest="storage",
                   help="storage host name (an IP address for Kubernetes)")
    add_id(group.leaf("info", info, "Retrieves information about the node"), "node")
    group.leaf("list", list_, "List all nodes in cluster")
    add_id(group.leaf("delete", delete, "Deletes a node from Heketi management"), "node")
    add_id(group.leaf("enable", state_handler("node", _set_state, "online", "online", "Enabling"),
                      "Allows node to go online"), "node")
    add_id(group.leaf("disable", state_handler("node", _set_state, "offline", "offline", "Disabling"),
                      "Disallow usage of a node by placing it offline"), "node")
    add_id(group.leaf("remove", state_handler("node", _set_state, "failed", "removed", "Removing"),
                      "Removes a node and all its associated devices from Heketi"), "node")
    tags.register(group, "node", _submit_tags)
