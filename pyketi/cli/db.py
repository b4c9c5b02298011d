"""``db dump`` and ``db check``: the server's JSON printed as it came, as heketi-cli."""

from __future__ import annotations

import argparse

from pyketi.cli.args import Commands
from pyketi.cli.context import Context


def dump(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Dumping database"):
        text = ctx.client.db_dump_text()
    ctx.print(text)


def check(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait("Checking database"):
        text = ctx.client.db_check_text()
    ctx.print(text)


def register(sub: object) -> None:
    group = Commands(sub, "db", "Heketi database management")
    group.leaf("dump", dump, "dumps the database in json format", json_flag=False)
    group.leaf("check", check, "checks the db and provides a summary in json format",
               json_flag=False)
