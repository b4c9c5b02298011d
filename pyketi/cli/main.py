"""``pyketi-cli``: heketi-cli's command tree, flags and environment.

Errors are printed as ``Error: <message>`` on stderr with exit status 255,
as heketi-cli does.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import pyketi
from pyketi.cli.args import HelpFormatter, Parser, UsageError, add_global_options
from pyketi.cli.context import CliError, Context, Settings
from pyketi.client import PyketiError, WaitInterrupted
from pyketi.gc_pause import gc_paused

EXIT_ERROR = 255
EXIT_INTERRUPTED = 130
DESCRIPTION = """Command line client for pyketi and heketi servers.

Environment: HEKETI_CLI_SERVER, HEKETI_CLI_USER, HEKETI_CLI_KEY (or the
PYKETI_CLI_* names, which win when both are set); flags win over both.
"""


# the command groups, in the order of the help; each a module pyketi.cli.<name> with
# register(subparsers)
COMMANDS = ("cluster", "node", "device", "volume", "brick", "topology", "db", "server",
            "loglevel", "audit", "completion")
_VALUE_OPTIONS = ("-s", "--server", "--user", "--secret", "-C", "--tls-cert")
_FLAG_OPTIONS = ("--json", "-I", "--insecure-tls")


def command_of(argv: Sequence[str]) -> str | None:
    """The command group ``argv`` names when only global options come before it, the
    parser then need not describe the other groups (their modules are not even
    imported); None (build them all) for anything else: help, version, a typo."""
    tokens = iter(argv)
    for token in tokens:
        if token in _VALUE_OPTIONS:
            if next(tokens, None) is None:
                return None
        elif not (token in _FLAG_OPTIONS
                  or token.startswith(tuple(f"{o}=" for o in _VALUE_OPTIONS if o[1] == "-"))):
            return token if token in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree, or with ``only`` the root and that one group."""
    parser = Parser(prog="pyketi-cli", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.set_defaults(handler=None, help_parser=parser)
    add_global_options(parser, leaf=False)
    parser.add_argument("-v", "--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"pyketi.cli.{name}").register(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = build_parser(command_of(argv)).parse_known_args(argv)
    if extras:
        # cobra lets a trailing list (tags, ids) continue after a flag:
        # "settags ID --exact a:b" -- argparse leaves "a:b" over
        target = getattr(args, "extra_positionals", None)
        if target is None or any(e.startswith("-") for e in extras):
            args.help_parser.error(f"unrecognized arguments: {' '.join(extras)}")
        getattr(args, target).extend(extras)
    if args.version:
        print(f"pyketi-cli {pyketi.__version__}")
        return 0
    if args.handler is None:
        args.help_parser.print_help()
        return 0
    args.handler(Context(Settings.from_args(args)), args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # a short-lived command: what it reads (a topology of 10,000 volumes is half a
        # million objects) lives until it exits; the cyclic collector would walk it
        # again and again for nothing (~25 % of topology info's CPU)
        with gc_paused():
            return run(argv)
    except (CliError, PyketiError, UsageError) as exc:
        _flush_stdout()
        sys.stderr.write(f"Error: {exc}\n")
        return EXIT_ERROR
    except WaitInterrupted as exc:
        # the server goes on with what it accepted: say where to look
        _flush_stdout()
        if exc.finished:
            sys.stderr.write(f"Interrupted; the operation finished: {exc.url}\n")
        else:
            sys.stderr.write("Interrupted; the server carries on with the operation.\n"
                             f"Job still running: {exc.url}\n")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _flush_stdout()
        sys.stderr.write("Error: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped to head): not an error worth a trace
        sys.stderr.close()
        return EXIT_ERROR


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
