"""argparse plumbing shared by the command modules.

heketi-cli (cobra) takes its global flags before or after the command, so
every leaf parser repeats them with ``SUPPRESS`` defaults: a flag given after
the command overrides the root's value, an absent one leaves it alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

Handler = Callable[[Any, argparse.Namespace], None]

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


class UsageError(Exception):
    """Bad command line; reported like any other error."""


def go_literal(value: Any) -> str:
    """A default as cobra shows it: ``3``, ``1.5``, ``true``, ``"replicate"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; a flag with a non-zero default says so after
    its help, as cobra does: ``(default "replicate")``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (action.option_strings and "(default" not in text
                and default is not argparse.SUPPRESS
                and default not in (None, False, "", 0) and not isinstance(default, list)):
            text += f" (default {go_literal(default)})".replace("%", "%%")
        return text


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def go_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool`` spellings, as cobra accepts them."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def bool_flag(parser: argparse.ArgumentParser, *names: str, default: bool | None,
              help: str) -> None:
    """``--flag``, ``--flag=true|false`` and ``--flag true|false``."""
    parser.add_argument(*names, nargs="?", const=True, default=default, type=go_bool,
                        metavar="true|false", help=help)


def add_global_options(parser: argparse.ArgumentParser, *, leaf: bool,
                       json_flag: bool = True) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if leaf else value

    group = parser.add_argument_group("global options")
    group.add_argument("-s", "--server", metavar="URL", default=default(None),
                       help="server URL (env HEKETI_CLI_SERVER, default "
                            "http://localhost:8080)")
    group.add_argument("--user", default=default(None),
                       help="user name, JWT issuer: admin or user (env HEKETI_CLI_USER)")
    group.add_argument("--secret", default=default(None),
                       help="secret key of the user (env HEKETI_CLI_KEY)")
    if json_flag:
        group.add_argument("--json", dest="json_output", action="store_true",
                           default=default(False), help="print the server's JSON")
    group.add_argument("-I", "--insecure-tls", action="store_true", default=default(False),
                       help="do not verify the server's TLS certificate")
    group.add_argument("-C", "--tls-cert", action="append", metavar="FILE",
                       default=default(None),
                       help="trust this PEM certificate (repeatable)")


class Commands:
    """Builds one command group: ``group = Commands(sub, "volume", "...")``,
    then ``group.leaf("create", handler, "...")`` per command."""

    def __init__(self, subparsers: Any, name: str, help: str) -> None:
        self.parser: argparse.ArgumentParser = subparsers.add_parser(
            name, help=help, description=help, formatter_class=HelpFormatter)
        self.parser.set_defaults(handler=None, help_parser=self.parser)
        self._sub = self.parser.add_subparsers(title="commands", metavar="COMMAND")

    def group(self, name: str, help: str) -> Commands:
        return Commands(self._sub, name, help)

    def leaf(self, name: str, handler: Handler, help: str, *,
             json_flag: bool = True, epilog: str | None = None,
             aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        parser = self._sub.add_parser(name, help=help, description=help, epilog=epilog,
                                      aliases=list(aliases), formatter_class=HelpFormatter)
        parser.set_defaults(handler=handler, help_parser=parser)
        add_global_options(parser, leaf=True, json_flag=json_flag)
        return parser


def add_id(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("id", metavar=f"{what.upper()}_ID", help=f"id of the {what}")
