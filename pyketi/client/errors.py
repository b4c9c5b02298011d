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


class ServerUnreachable(PyketiError):
    """No reply arrived: connection refused or reset, or the reply timed out
    (``status`` 0).  While waiting for an accepted operation such failures
    are retried for a while (the server may be restarting)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C while waiting for an operation the server accepted: the server
    goes on with it.  ``url`` is where its outcome can be read: the queue
    entry while it runs, the resulting object once ``finished``."""

    def __init__(self, url: str, finished: bool = False) -> None:
        super().__init__(url)
        self.url = url
        self.finished = finished
