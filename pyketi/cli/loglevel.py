"""``loglevel get|set`` (heketi-cli ``cmds/loglevel.go``): the server's log level."""

from __future__ import annotations

import argparse

from pyketi.cli.args import Commands
from pyketi.cli.context import Context

LEVELS = ["none", "critical", "error", "warning", "info", "debug"]


def get(ctx: Context, args: argparse.Namespace) -> None:
    info = ctx.client.loglevel_get()
    ctx.result(info, f"{info['loglevel'].get('glusterfs', '')}\n")


def set_(ctx: Context, args: argparse.Namespace) -> None:
    # the server judges the level ("invalid log level: <x>"), as with heketi-cli
    ctx.client.loglevel_set(args.level)
    ctx.print("Server log level updated\n")


def register(sub: object) -> None:
    group = Commands(sub, "loglevel", "Manage Heketi server Log Level")
    group.leaf("get", get, "Get Heketi server Log Level",
               epilog="example:\n  pyketi-cli loglevel get")
    p = group.leaf("set", set_, "Set Heketi server Log Level",
                   epilog="example:\n  pyketi-cli loglevel set debug")
    p.add_argument("level", metavar="LEVEL", help=f"one of: {', '.join(LEVELS)}")
