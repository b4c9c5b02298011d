"""What every command handler gets: the client, output streams, modes."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TextIO, TypeVar

from pyketi.cli import output
from pyketi.cli.spinner import Spinner
from pyketi.client import Client, PollPolicy, RetryPolicy

DEFAULT_SERVER = "http://localhost:8080"
DEFAULT_TIMEOUT = 60.0
N = TypeVar("N", int, float)


class CliError(Exception):
    """A failure to report as ``Error: <message>`` (exit status 255)."""


def env(name: str) -> str | None:
    """``PYKETI_CLI_<name>`` if set, else heketi-cli's ``HEKETI_CLI_<name>``."""
    for prefix in ("PYKETI_CLI_", "HEKETI_CLI_"):
        value = os.environ.get(prefix + name)
        if value is not None:
            return value
    return None


def _env_number(name: str, kind: type[N]) -> N | None:
    raw = env(name)
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        raise CliError(f"PYKETI_CLI_{name} must be a number, got {raw!r}") from None


def _retry_policy() -> RetryPolicy:
    """429 backoff, tunable by PYKETI_CLI_RETRIES / _RETRY_MIN_DELAY / _RETRY_MAX_DELAY."""
    default = RetryPolicy()
    attempts = _env_number("RETRIES", int)
    min_delay = _env_number("RETRY_MIN_DELAY", float)
    max_delay = _env_number("RETRY_MAX_DELAY", float)
    return RetryPolicy(attempts=default.attempts if attempts is None else attempts,
                       min_delay=default.min_delay if min_delay is None else min_delay,
                       max_delay=default.max_delay if max_delay is None else max_delay)


@dataclass
class Settings:
    server: str
    user: str
    secret: str = field(repr=False)
    json: bool
    insecure_tls: bool
    tls_certs: list[str]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        return cls(server=args.server or env("SERVER") or DEFAULT_SERVER,
                   user=args.user if args.user is not None else env("USER") or "",
                   secret=args.secret if args.secret is not None else env("KEY") or "",
                   json=bool(args.json_output),
                   insecure_tls=bool(args.insecure_tls),
                   tls_certs=list(args.tls_cert or []))

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.server.startswith("https:"):
            return None
        ctx = ssl.create_default_context()
        for path in self.tls_certs:
            try:
                ctx.load_verify_locations(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                raise CliError(f"unable to load TLS certificate {path}: {exc}") from None
        if self.insecure_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class Context:
    def __init__(self, settings: Settings, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.json = settings.json
        self.spinner = Spinner(self.err, enabled=self.err.isatty() and not self.json)

    @cached_property
    def client(self) -> Client:
        # a server restarting while we wait is given as long as one slow reply
        timeout = _env_number("TIMEOUT", float) or DEFAULT_TIMEOUT
        return Client(self.settings.server, self.settings.user, self.settings.secret,
                      timeout=timeout, retry=_retry_policy(),
                      poll=PollPolicy(outage=timeout), ssl_context=self.settings.ssl_context(),
                      observer=self.spinner.status)

    @contextmanager
    def wait(self, label: str) -> Iterator[None]:
        """Show progress for ``label`` while the body waits on the server."""
        with self.spinner.task(label):
            yield

    def print(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(f"Warning: {text}\n")

    def result(self, obj: Any, text: str) -> None:
        """Print ``obj`` as JSON under ``--json``, else ``text``."""
        if self.json:
            output.emit_json(self.out, obj)
        else:
            self.out.write(text)
        self.out.flush()
