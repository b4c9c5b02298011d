"""``enable|disable|remove`` for nodes and devices: POST .../state."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pyketi.cli.args import Handler
from pyketi.cli.context import Context
from pyketi.client.models import State

SetState = Callable[[Context, str, State, str], None]
"""(ctx, id, state, healcheck) -> None"""


def state_handler(what: str, set_state: SetState, state: State, shown: str,
                  verb: str) -> Handler:
    """Prints heketi-cli's ``<What> <id> is now <shown>`` on success."""
    def handler(ctx: Context, args: argparse.Namespace) -> None:
        healcheck = "disable" if getattr(args, "no_heal_check", False) else ""
        with ctx.wait(f"{verb} {what} {args.id}"):
            set_state(ctx, args.id, state, healcheck)
        ctx.print(f"{what.capitalize()} {args.id} is now {shown}\n")
    return handler
