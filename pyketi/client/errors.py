"""The one exception type the client raises."""

from __future__ import annotations


class PyketiError(Exception):
    """A request failed.

    ``status`` is the HTTP status of the reply that carried the failure (for
    an asynchronous operation: the status of the final ``/queue`` reply, e.g.
    500), or ``0`` when no reply was received (connection refused, timeout,
    bad URL).  ``message`` is the server's error text with surrounding white
    space removed, or a description of the local failure.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"PyketiError(status={self.status!r}, message={self.message!r})"
