"""``settags``/``rmtags`` for nodes and devices (heketi-cli cmds/utils.go)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pyketi.cli.args import Commands, Handler, add_id
from pyketi.cli.context import CliError, Context
from pyketi.client.models import TagChange

Submit = Callable[[Context, str, dict[str, str], TagChange], dict[str, str]]


def _settags(submit: Submit) -> Handler:
    def handler(ctx: Context, args: argparse.Namespace) -> None:
        if not args.tags:
            raise CliError("at least one tag:value pair expected")
        tags: dict[str, str] = {}
        for item in args.tags:
            name, sep, value = item.partition(":")
            if not sep:
                raise CliError(f"expected colon (:) between tag name and value, got: {item}")
            tags[name] = value
        result = submit(ctx, args.id, tags, "set" if args.exact else "update")
        if ctx.json:
            ctx.result(result, "")
    return handler


def _rmtags(submit: Submit) -> Handler:
    def handler(ctx: Context, args: argparse.Namespace) -> None:
        if not args.tags and not args.all:
            raise CliError("at least one tag expected")
        if args.tags and args.all:
            raise CliError("--all may not be combined with named tags")
        if args.all:
            result = submit(ctx, args.id, {}, "set")
        else:
            result = submit(ctx, args.id, {name: "" for name in args.tags}, "delete")
        if ctx.json:
            ctx.result(result, "")
    return handler


def register(group: Commands, what: str, submit: Submit) -> None:
    p = group.leaf("settags", _settags(submit), f"Set tags on a {what}",
                   epilog=f"example:\n  pyketi-cli {what} settags {what.upper()}_ID "
                          "arbiter:required speed:fast")
    add_id(p, what)
    p.add_argument("tags", nargs="*", metavar="NAME:VALUE")
    p.set_defaults(extra_positionals="tags")
    p.add_argument("-e", "--exact", action="store_true",
                   help="replace all tags with exactly the given ones")
    p = group.leaf("rmtags", _rmtags(submit), f"Remove tags from a {what}",
                   aliases=("deltags", "removetags"), epilog=f"example:\n  pyketi-cli {what} rmtags {what.upper()}_ID speed")
    add_id(p, what)
    p.add_argument("tags", nargs="*", metavar="NAME")
    p.set_defaults(extra_positionals="tags")
    p.add_argument("--all", action="store_true", help="remove every tag")
