"""``cluster create|list|info|delete|setflags``."""

from __future__ import annotations

import argparse

from pyketi.cli import output
from pyketi.cli.args import Commands, add_id, bool_flag
from pyketi.cli.context import CliError, Context


def create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Creating cluster"):
        info = ctx.client.cluster_create(block=args.block, file=args.file)
    ctx.result(info, f"Cluster id: {info['id']}\n")


def list_(ctx: Context, args: argparse.Namespace) -> None:
    clusters = ctx.client.cluster_list()
    if ctx.json:
        ctx.result(clusters, "")
        return
    lines = ["Clusters:\n"]
    for cluster_id in clusters["clusters"]:
        info = ctx.client.cluster_info(cluster_id)
        lines.append(f"Id:{cluster_id} {output.cluster_usage(info)}\n")
    ctx.print("".join(lines))


def info(ctx: Context, args: argparse.Namespace) -> None:
    cluster = ctx.client.cluster_info(args.id)
    ctx.result(cluster, output.cluster_info_text(cluster))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Deleting cluster {args.id}"):
        ctx.client.cluster_delete(args.id)
    ctx.print(f"Cluster {args.id} deleted\n")


def setflags(ctx: Context, args: argparse.Namespace) -> None:
    if args.block is None and args.file is None:
        raise CliError("At least one of --file or --block must be specified.")
    current = ctx.client.cluster_info(args.id)
    block = current.get("block", False) if args.block is None else args.block
    file = current.get("file", False) if args.file is None else args.file
    ctx.client.cluster_set_flags(args.id, block=block, file=file)


def register(sub: object) -> None:
    group = Commands(sub, "cluster", "Heketi cluster management")
    p = group.leaf("create", create, "Create a cluster",
                   epilog="examples:\n  pyketi-cli cluster create\n"
                          "  pyketi-cli cluster create --block=false")
    bool_flag(p, "--block", default=True, help="allow block volumes")
    bool_flag(p, "--file", default=True, help="allow file volumes")
    group.leaf("list", list_, "Lists the clusters managed by Heketi")
    add_id(group.leaf("info", info, "Retrieves information about cluster"), "cluster")
    add_id(group.leaf("delete", delete, "Delete the cluster"), "cluster")
    p = group.leaf("setflags", setflags, "Set flags on a cluster",
                   epilog="example:\n  pyketi-cli cluster setflags --file=false CLUSTER_ID")
    add_id(p, "cluster")
    bool_flag(p, "--block", default=None, help="allow block volumes")
    bool_flag(p, "--file", default=None, help="allow file volumes")
