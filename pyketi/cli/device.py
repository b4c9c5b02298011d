"""``device add|info|delete|enable|disable|remove|resync|settags|rmtags``."""

from __future__ import annotations

import argparse

from pyketi.cli import output, tags
from pyketi.cli.args import Commands, add_id
from pyketi.cli.context import CliError, Context
from pyketi.cli.state import state_handler
from pyketi.client.models import State, TagChange

HEAL_CHECK_WARNING = (
    "Warning: --expert-option-disable-heal-check skips the self-heal check; "
    "bricks may be replaced while their replicas still need healing.\n")


def add(ctx: Context, args: argparse.Namespace) -> None:
    if not args.name:
        raise CliError("Missing device name")
    if not args.node:
        raise CliError("Missing node id")
    with ctx.wait(f"Adding device {args.name}"):
        ctx.client.device_add(node=args.node, name=args.name,
                              destroydata=args.destroy_existing_data)
    ctx.print("Device added successfully\n")


def info(ctx: Context, args: argparse.Namespace) -> None:
    device = ctx.client.device_info(args.id)
    ctx.result(device, output.device_text(device))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Deleting device {args.id}"):
        ctx.client.device_delete(args.id, force_forget=args.force_forget)
    ctx.print(f"Device {args.id} deleted\n")


def resync(ctx: Context, args: argparse.Namespace) -> None:
    if args.cluster:
        resync_cluster(ctx, args.id)
        return
    with ctx.wait(f"Resyncing device {args.id}"):
        ctx.client.device_resync(args.id)
    ctx.print(f"Device {args.id} updated\n")


def resync_cluster(ctx: Context, cluster_id: str) -> None:
    """heketi-cli's ``device resync --cluster``: every device of the cluster."""
    ctx.print("Cluster-wide resync operation requested. Using object_id as cluster_id.\n")
    cluster = ctx.client.cluster_info(cluster_id)
    for node_id in cluster["nodes"]:
        for device in ctx.client.node_info(node_id)["devices"]:
            ctx.print(f"Now resyncing device {device['id']}..\n")
            with ctx.wait(f"Resyncing device {device['id']}"):
                ctx.client.device_resync(device["id"])
            ctx.print(f"Device {device['id']} (node {node_id}) in cluster {cluster_id} "
                      "updated\n")


def _set_state(ctx: Context, device_id: str, state: State, healcheck: str) -> None:
    if healcheck == "disable":
        ctx.err.write(HEAL_CHECK_WARNING)
    ctx.client.device_set_state(device_id, state, healcheck=healcheck)


def _submit_tags(ctx: Context, device_id: str, new: dict[str, str],
                 change: TagChange) -> dict[str, str]:
    return ctx.client.device_set_tags(device_id, new, change)


def register(sub: object) -> None:
    group = Commands(sub, "device", "Heketi device management")
    p = group.leaf("add", add, "Add new device to node to be managed by Heketi",
                   epilog="example:\n  pyketi-cli device add --name=/dev/sdb --node=NODE_ID")
    p.add_argument("--name", help="device path, e.g. /dev/sdb")
    p.add_argument("--node", help="id of the node which has this device")
    p.add_argument("--destroy-existing-data", action="store_true",
                   help="wipe the device if it holds old data (DANGEROUS)")
    add_id(group.leaf("info", info, "Retrieves information about the device"), "device")
    p = group.leaf("delete", delete, "Deletes a device from Heketi node")
    add_id(p, "device")
    p.add_argument("--force-forget", action="store_true",
                   help="forget the device even if it can't be cleaned up on the node")
    add_id(group.leaf("enable", state_handler("device", _set_state, "online", "online",
                                              "Enabling"),
                      "Allows device to go online"), "device")
    add_id(group.leaf("disable", state_handler("device", _set_state, "offline", "offline",
                                               "Disabling"),
                      "Disallow usage of a device by placing it offline"), "device")
    p = group.leaf("remove", state_handler("device", _set_state, "failed", "removed",
                                           "Removing"),
                   "Removes a device from Heketi node (moves its bricks away)")
    add_id(p, "device")
    p.add_argument("--expert-option-disable-heal-check", dest="no_heal_check",
                   action="store_true", help="do not wait for self-heal (DANGEROUS)")
    p = group.leaf("resync", resync, "Resync storage information about the device "
                                     "with operating system")
    p.add_argument("id", metavar="OBJECT_ID", help="id of the device (of the cluster "
                                                  "with --cluster)")
    p.add_argument("--cluster", action="store_true",
                   help="resync all devices of the cluster identified by OBJECT_ID")
    tags.register(group, "device", _submit_tags)
