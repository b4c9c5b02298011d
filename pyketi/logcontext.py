"""The request id of the work being done, carried into every log line.

``REQUEST_ID`` is a context variable: the access middleware sets it for the
request it handles, and every task started while handling it (an operation's
job) inherits it, so the lines an operation writes later still name the request
that started it.  ``install()`` makes every ``LogRecord`` carry it as
``record.request_id`` ("" outside a request), and ``ContextFormatter`` appends
`` request_id=<id>`` to a text line when there is one (a JSON formatter reads the
attribute).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

from pyketi.ids import new_id

REQUEST_ID: ContextVar[str] = ContextVar("pyketi_request_id", default="")
HEADER = "X-Request-Id"
# a client's own id is kept when it is short, printable and cannot split a log line
_SANE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}\Z")

_installed = False


def request_id_from(header: str | None) -> str:
    """The client's ``X-Request-Id`` when sane, else a fresh random id."""
    if header and _SANE.match(header):
        return header
    return new_id()


def install() -> None:
    """Give every log record a ``request_id`` attribute (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", "")
        if request_id:
            text += f" request_id={request_id}"
        return text


def use_context_formatter(logger: logging.Logger | None = None) -> None:
    """Swap the plain formatters of ``logger``'s handlers (root by default) for
    ``ContextFormatter`` with the same format; other formatters (JSON) are left."""
    install()
    for handler in (logger or logging.getLogger()).handlers:
        fmt = handler.formatter
        if fmt is None or type(fmt) is logging.Formatter:
            handler.setFormatter(ContextFormatter(
                fmt._fmt if fmt else None, fmt.datefmt if fmt else None))
