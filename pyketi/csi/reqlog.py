"""Logging with the CSI request id on every line; secrets never rendered.

Each RPC gets a short request id (``req=``) held in a context variable, so
every line logged while serving it - including the pyketi job it waits
for - names it.  ``describe`` renders a request for the log with every
``csi_secret`` field (contract §4.5) and ``mount_flags`` dropped.
"""

from __future__ import annotations

import contextvars
import logging
import secrets

from google.protobuf.message import Message

from pyketi.csi.proto import csi_pb2 as pb

log = logging.getLogger("pyketi.csi")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("csi_request_id",
                                                                 default="-")
_SECRET_EXT = pb.csi_secret
_HIDDEN = {"mount_flags"}
_SECRET_PARAMETERS = {"restuserkey"}     # a StorageClass parameter holding a key


def new_request_id() -> str:
    return secrets.token_hex(4)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.req = request_id.get()
        return True


log.addFilter(RequestIdFilter())        # every record of the driver names its request


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())     # records of other pyketi loggers too
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s req=%(req)s %(message)s"))
    root = logging.getLogger("pyketi")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _is_secret(field) -> bool:
    return field.GetOptions().Extensions[_SECRET_EXT]


def describe(message: Message) -> str:
    """``Field=value`` pairs of a request, without secrets or mount flags."""
    parts = []
    for field, value in message.ListFields():
        if _is_secret(field):
            parts.append(f"{field.name}=<{len(value)} hidden>")
        elif field.name in _HIDDEN:
            parts.append(f"{field.name}=<hidden>")
        elif isinstance(value, Message):
            parts.append(f"{field.name}={{{describe(value)}}}")
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            shown = {k: ("<hidden>" if k.lower() in _SECRET_PARAMETERS else v)
                     for k, v in value.items()}
            parts.append(f"{field.name}={shown}")
        elif field.is_repeated and field.message_type is not None:
            parts.append(f"{field.name}=[" + ", ".join(
                "{" + describe(v) + "}" for v in value) + "]")
        elif field.is_repeated:
            parts.append(f"{field.name}={list(value)}")
        else:
            parts.append(f"{field.name}={value!r}")
    return " ".join(parts)
