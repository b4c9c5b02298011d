"""gRPC status codes for CSI answers, and how server failures map to them
(contract §5-§6; issue 11 "Errors map to ...")."""

from __future__ import annotations

import grpc

from pyketi.client import PyketiError

Code = grpc.StatusCode


class CsiError(Exception):
    """Ends an RPC with ``code`` and ``message`` (shown to users by the CO)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> CsiError:
    return CsiError(Code.INVALID_ARGUMENT, message)


def not_found(message: str) -> CsiError:
    return CsiError(Code.NOT_FOUND, message)


_BY_STATUS = {
    400: Code.INVALID_ARGUMENT,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.NOT_FOUND,
    409: Code.ABORTED,          # busy with another operation on the same object
    429: Code.ABORTED,          # server busy: the sidecar retries with back-off
    502: Code.UNAVAILABLE,
    503: Code.UNAVAILABLE,
    504: Code.UNAVAILABLE,
}


def is_no_space(err: PyketiError) -> bool:
    return "No space" in err.message or "Out of space" in err.message


def is_name_taken(err: PyketiError) -> bool:
    return "already in use" in err.message


def from_server(err: PyketiError, what: str) -> CsiError:
    """A ``PyketiError`` as the CSI code the sidecars act on.  ``what`` says
    which server call failed; the server's reason is kept."""
    if err.status == 0:
        code = Code.UNAVAILABLE                  # no reply: server down / unreachable
    elif is_no_space(err):
        code = Code.RESOURCE_EXHAUSTED
    else:
        code = _BY_STATUS.get(err.status, Code.INTERNAL)
    return CsiError(code, f"{what}: {err.message}")
