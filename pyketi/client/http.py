"""HTTP transport: signed requests, heketi's async protocol, 429 retries.

One ``Transport`` talks to one server.  Each request opens its own
connection and carries a fresh token signed for its method and path, so a
transport can be shared between threads.

Async protocol (heketi-spec §1.2): a ``202 Accepted`` carries
``Location: /queue/<id>``; the queue answers ``200`` + ``X-Pending`` while the
operation runs, then ``303`` to the resource (fetched with a new token for
the new path), ``204`` when there is nothing to fetch, or ``500`` with the
error text.  A finished queue entry can be read only once, so a terminal reply
is never re-requested.

While waiting, the server may restart: a poll (or the fetch after a 303) that
gets no reply, or a ``502/503/504``, is retried with backoff for up to
``PollPolicy.outage`` seconds in a row (within ``PollPolicy.timeout``).  A
Ctrl-C while waiting raises ``WaitInterrupted`` with the URL to check later.
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyketi.client.auth import authorization_header
from pyketi.gc_pause import gc_paused
from pyketi.client.errors import PyketiError, ServerUnreachable, WaitInterrupted

Observer = Callable[[str], None]
"""Receives one-line status updates while a request waits (for progress UIs)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of ``429 Server busy`` replies: ``attempts`` retries after the
    first try, waiting an exponentially growing, jittered delay between
    ``min_delay`` and ``max_delay`` seconds."""

    attempts: int = 6
    min_delay: float = 1.0
    max_delay: float = 16.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        upper = min(self.max_delay, self.min_delay * (2 ** retry))
        return random.uniform(min(self.min_delay, upper), upper)


@dataclass(frozen=True)
class PollPolicy:
    """Polling of ``/queue/<id>``: the interval starts at ``initial`` seconds
    and is multiplied by ``factor`` after each pending reply up to
    ``maximum``.  ``timeout`` (seconds, ``None`` = no limit) bounds the whole
    wait."""

    initial: float = 0.01
    maximum: float = 0.4
    factor: float = 2.0
    timeout: float | None = None
    outage: float = 60.0
    """seconds in a row the queue may be unreachable (or answer 502/503/504,
    e.g. while the server restarts) before the wait fails"""


UNAVAILABLE = frozenset({502, 503, 504})
LARGE_BODY = 1 << 20  # bytes: a reply this large is parsed with the cyclic collector paused


DEFAULT_RETRY = RetryPolicy()
DEFAULT_POLL = PollPolicy()


@dataclass
class Reply:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        if not self.body or self.body.isspace():  # (strip() would copy a large body)
            return None
        try:
            if len(self.body) < LARGE_BODY:
                return json.loads(self.body)
            with gc_paused():  # a topology of 10,000 volumes: ~30 % less CPU
                return json.loads(self.body)
        except ValueError:
            raise PyketiError(self.status, "server sent a reply that is not JSON: "
                              + _shorten(self.text())) from None

    def error(self) -> PyketiError:
        """The failure this reply reports, in the Go client's words."""
        message = self.text().strip()
        if not message:
            message = (f"server did not provide a message "
                       f"(status {self.status}: {self.reason})")
        return PyketiError(self.status, message)


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class Transport:
    def __init__(self, server: str, user: str = "", secret: str = "", *,
                 timeout: float = 60.0,
                 retry: RetryPolicy = DEFAULT_RETRY,
                 poll: PollPolicy = DEFAULT_POLL,
                 ssl_context: ssl.SSLContext | None = None,
                 observer: Observer | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urlsplit(server.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PyketiError(0, f"invalid server URL {server!r}: expected "
                                 "http://HOST[:PORT] or https://HOST[:PORT]")
        try:
            self._port = parts.port
        except ValueError:
            raise PyketiError(0, f"invalid server URL {server!r}: bad port") from None
        self.server = server.strip().rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._prefix = parts.path.rstrip("/")
        self._user = user
        self._secret = secret
        self.timeout = timeout
        self.retry = retry
        self.poll = poll
        self._ssl_context = ssl_context
        self.observer = observer
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the secret
        return f"Transport({self.server!r}, user={self._user!r})"

    # -- one request ---------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port,
                                               timeout=self.timeout,
                                               context=self._ssl_context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def send(self, method: str, path: str, body: Any = None) -> Reply:
        """One signed request, no retries; ``path`` is relative to the server
        URL (which may carry a path prefix)."""
        return self._send(method, self._prefix + path, body)

    def _send(self, method: str, full_path: str, body: Any) -> Reply:
        # qsh covers the path only, never the query string
        headers = {"Authorization": authorization_header(
            self._user, self._secret, method, full_path.split("?", 1)[0])}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, full_path, body=data, headers=headers)
            resp = conn.getresponse()
            return Reply(resp.status, resp.reason, resp.headers, resp.read())
        except TimeoutError:
            raise ServerUnreachable(f"timed out after {self.timeout:g}s waiting for "
                                    f"{self.server}") from None
        except ssl.SSLError as exc:
            raise PyketiError(0, f"TLS error talking to {self.server}: "
                                 f"{exc.reason or exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (
                str(exc) or type(exc).__name__)
            raise ServerUnreachable(f"unable to connect to {self.server}: {reason}") from None
        finally:
            conn.close()

    # -- retries and the async protocol ---------------------------------------

    def _notify(self, status: str) -> None:
        if self.observer is not None:
            self.observer(status)

    def _send_retrying(self, method: str, path: str, body: Any) -> Reply:
        for retry in range(self.retry.attempts + 1):
            reply = self.send(method, path, body)
            if reply.status != 429 or retry == self.retry.attempts:
                return reply
            delay = self.retry.delay(retry)
            self._notify(f"server busy, retry {retry + 1}/{self.retry.attempts} "
                         f"in {delay:.1f}s")
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _get_through_outage(self, path: str, deadline: float | None) -> tuple[Reply, bool]:
        """GET ``path``, retrying while the server is unreachable or unavailable
        (502/503/504) for up to ``poll.outage`` seconds in a row; also says
        whether it had to retry."""
        outage_started: float | None = None
        delay = max(self.poll.initial, 0.05)
        while True:
            try:
                reply = self._send("GET", path, None)
                if reply.status not in UNAVAILABLE:
                    return reply, outage_started is not None
                problem = f"server answered {reply.status} {reply.reason}".strip()
            except ServerUnreachable as exc:
                problem = exc.message
            now = time.monotonic()
            if outage_started is None:
                outage_started = now
            down = now - outage_started
            if down + delay > self.poll.outage or (deadline is not None
                                                   and now + delay > deadline):
                raise ServerUnreachable(
                    f"{problem} (for {down:.0f}s while waiting for the operation; it may "
                    f"still finish: {self._origin}{path})")
            self._notify(f"{problem}; retrying in {delay:.1f}s")
            self._sleep(delay)
            delay = min(delay * 2, 2.0)

    def _wait(self, location: str) -> Reply:
        """Poll a queue entry until it reaches a terminal state."""
        queue_path = _location_path(location)
        started = time.monotonic()
        deadline = None if self.poll.timeout is None else started + self.poll.timeout
        interval = self.poll.initial
        restarted = False
        try:
            while True:
                reply, outage = self._get_through_outage(queue_path, deadline)
                restarted = restarted or outage
                if reply.status != 200 or reply.headers.get("X-Pending") is None:
                    break
                waited = time.monotonic() - started
                if self.poll.timeout is not None and waited + interval > self.poll.timeout:
                    raise PyketiError(0, f"gave up after {waited:.0f}s waiting for "
                                         f"operation {queue_path} to finish")
                self._notify(f"waiting for {queue_path}")
                self._sleep(interval)
                interval = min(interval * self.poll.factor, self.poll.maximum)
        except KeyboardInterrupt:
            raise WaitInterrupted(self._origin + queue_path) from None
        if reply.status == 404 and restarted:
            # e.g. the entry was read just as the server went down
            raise PyketiError(404, f"{reply.error().message}: the queue entry "
                                   f"{self._origin}{queue_path} was gone after the server "
                                   "came back; the operation may have finished")
        if reply.status != 303:
            return reply
        target = reply.headers.get("Location")
        if not target:
            raise PyketiError(303, "server redirected without a Location")
        target_path = _location_path(target)
        self._notify(f"fetching {target_path}")
        try:
            return self._get_through_outage(target_path, None)[0]
        except KeyboardInterrupt:
            raise WaitInterrupted(self._origin + target_path, finished=True) from None

    def request(self, method: str, path: str, body: Any = None, *,
                expect: Collection[int] = (200,)) -> Reply:
        """Send a request, retrying 429s and following an async 202 to its end.

        Returns the final reply if its status is in ``expect``, else raises
        ``PyketiError`` with the server's message.
        """
        reply = self._send_retrying(method, path, body)
        if reply.status == 202 and 202 not in expect:
            location = reply.headers.get("Location")
            if not location:
                raise PyketiError(202, "server accepted the request but sent no "
                                       "Location to follow")
            reply = self._wait(location)
        if reply.status not in expect:
            raise reply.error()
        return reply


def _location_path(location: str) -> str:
    """The path (plus query) of a Location header, absolute or relative."""
    parts = urlsplit(location)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path
