"""``brick evict`` (heketi-cli ``cmds/brick.go``)."""

from __future__ import annotations

import argparse

from pyketi.cli.args import Commands, add_id
from pyketi.cli.context import Context
from pyketi.cli.device import HEAL_CHECK_WARNING


def evict(ctx: Context, args: argparse.Namespace) -> None:
    healcheck = "disable" if args.no_heal_check else ""
    if healcheck:
        ctx.err.write(HEAL_CHECK_WARNING)
    with ctx.wait(f"Evicting brick {args.id}"):
        ctx.client.brick_evict(args.id, healcheck=healcheck)
    ctx.print(f"Brick {args.id} evicted\n")


def register(sub: object) -> None:
    group = Commands(sub, "brick", "Heketi Brick Management")
    p = group.leaf("evict", evict, "Evict (remove) a brick from a volume",
                   epilog="example:\n  pyketi-cli brick evict BRICK_ID")
    add_id(p, "brick")
    p.add_argument("--expert-option-disable-heal-check", dest="no_heal_check",
                   action="store_true", help="do not wait for self-heal (DANGEROUS)")
