"""``server operations info|list|cleanup``, ``server mode get|set`` and
``server state examine gluster``."""

from __future__ import annotations

import argparse

from pyketi.cli import output
from pyketi.cli.args import Commands
from pyketi.cli.context import Context

MODES = ["normal", "local-client", "read-only"]
CLEANUP_NOTE = ("Note: Operation clean up is a batch operation.\n"
                "* The results of individual operation clean ups are not reported here.\n"
                "* Use 'pyketi-cli server operations [list|info]' to view operations.\n")


def operations_info(ctx: Context, args: argparse.Namespace) -> None:
    if args.id:
        details = ctx.client.pending_operation(args.id)
        ctx.result(details, output.operation_details_text(details))
    else:
        counts = ctx.client.operations_info()
        ctx.result(counts, output.operations_info_text(counts))


def operations_list(ctx: Context, args: argparse.Namespace) -> None:
    ops = ctx.client.pending_operations()
    ctx.result(ops, output.operations_list_text(ops))


def operations_cleanup(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Cleaning up operations"):
        ctx.client.operations_cleanup(args.ids)
    ctx.err.write(CLEANUP_NOTE)


def mode_get(ctx: Context, args: argparse.Namespace) -> None:
    status = ctx.client.admin_status()
    ctx.result(status, f"{status['state']}\n")


def mode_set(ctx: Context, args: argparse.Namespace) -> None:
    ctx.client.admin_set_status(args.mode)


def examine_gluster(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Examining gluster"):
        report = ctx.client.state_examine_gluster()
    ctx.print(report)  # heketi-cli prints the server's text as it came


def register(sub: object) -> None:
    server = Commands(sub, "server", "Heketi server management")
    ops = server.group("operations", "Manage ongoing server operations")
    p = ops.leaf("info", operations_info,
                 "Get a summary of server operations, or details of one operation")
    p.add_argument("id", nargs="?", metavar="OPERATION_ID")
    ops.leaf("list", operations_list, "Get a list of pending operations")
    p = ops.leaf("cleanup", operations_cleanup, "Clean up stale or failed pending operations")
    p.add_argument("ids", nargs="*", metavar="OPERATION_ID",
                   help="operations to clean (default: all stale and failed)")
    p.set_defaults(extra_positionals="ids")
    mode = server.group("mode", "Manage server mode")
    mode.leaf("get", mode_get, "Print current server mode")
    p = mode.leaf("set", mode_set, "Set server mode")
    p.add_argument("mode", choices=MODES)
    state = server.group("state", "View and/or modify state of server")
    examine = state.group("examine", "Compare state of server")
    examine.leaf("gluster", examine_gluster, "Compare state of server with gluster",
                 json_flag=False, epilog="example:\n  pyketi-cli server state examine gluster")
