"""Where the server's log goes and how it looks: heketi's log levels, text or JSON lines,
stderr or a file that SIGHUP reopens (after logrotate moved it).

* ``glusterfs.loglevel`` (``HEKETI_GLUSTERAPP_LOGLEVEL``) and ``POST /internal/logging``
  set the level of the ``pyketi`` logger: ``none``, ``critical``, ``error``, ``warning``,
  ``info``, ``debug`` (heketi's names).
* ``log_format``: ``text`` (default) or ``json``: one object a line with ``time`` (UTC,
  ISO 8601), ``level``, ``logger``, ``message``, every field a caller passed with
  ``extra=`` (a request or operation id) and ``exception`` when there is one.
* ``log_file``: append to this file instead of writing to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from pyketi import logcontext

LEVELS = {"none": logging.CRITICAL + 10, "critical": logging.CRITICAL, "error": logging.ERROR,
          "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGER = logging.getLogger("pyketi")
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and value not in ("", None):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def level_name() -> str:
    """The ``pyketi`` logger's level by heketi's name."""
    level = LOGGER.getEffectiveLevel()
    return next((name for name, value in LEVELS.items() if value == level), "info")


def set_level(name: str) -> None:
    LOGGER.setLevel(LEVELS[name])


class LogOutput:
    """The one handler on the root logger; ``apply`` swaps it (SIGHUP: reopen the file)."""

    def __init__(self) -> None:
        self.handler: logging.Handler | None = None

    def start(self) -> None:
        """Text on stderr at info until the configuration is read."""
        self._install(logging.StreamHandler(sys.stderr), "text")
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("alembic").setLevel(logging.WARNING)

    def apply(self, log_file: str, log_format: str, loglevel: str) -> None:
        """Open ``log_file`` anew (or stderr); raises OSError when it cannot be opened."""
        handler = (logging.FileHandler(log_file, encoding="utf-8") if log_file
                   else logging.StreamHandler(sys.stderr))
        self._install(handler, log_format)
        set_level(loglevel)

    def _install(self, handler: logging.Handler, log_format: str) -> None:
        logcontext.install()  # every record carries the request id (empty outside a request)
        handler.setFormatter(JsonFormatter() if log_format == "json"
                             else logcontext.ContextFormatter(TEXT_FORMAT))
        root = logging.getLogger()
        old, self.handler = self.handler, handler
        root.addHandler(handler)
        if old is not None:
            root.removeHandler(old)
            old.close()  # a file is closed; stderr stays open
