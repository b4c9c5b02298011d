"""``db dump`` and ``db check``: the server's JSON, indented like the server's."""

from __future__ import annotations

import argparse
import json

from pyketi.cli.args import Commands
from pyketi.cli.context import Context


def _print(ctx: Context, obj: object) -> None:
    ctx.print(json.dumps(obj, indent=4) + "\n")


def dump(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Dumping database"):
        data = ctx.client.db_dump()
    _print(ctx, data)


def check(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Checking database"):
        data = ctx.client.db_check()
    _print(ctx, data)


def register(sub: object) -> None:
    group = Commands(sub, "db", "Heketi database management")
    group.leaf("dump", dump, "Print the database as JSON")
    group.leaf("check", check, "Check the database for inconsistencies")
