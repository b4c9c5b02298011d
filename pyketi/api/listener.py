"""The HTTP(S) listener: a connection cap, a header-read timeout, overload logged once.

aiohttp's server bounds idle keep-alive connections but not the time a client takes to send
its request headers, and it accepts connections until the process runs out of file
descriptors (then asyncio logs a traceback per accept attempt).  A slowloris client holding
thousands of half-sent requests would stop the service.  Here every connection is wrapped in
a ``GuardedProtocol`` around aiohttp's own ``RequestHandler``:

* at most ``max_connections`` connections are open; at the limit a new connection closes the
  oldest connection that is waiting for a request (an unfinished or no request: it costs
  nothing to drop), or, when every connection is busy with a request, is answered
  ``503`` and closed;
* a connection must finish its request headers within ``header_timeout`` seconds of
  connecting (or of the first byte of its next request on a kept-alive connection); with TLS
  the handshake is done here (``start_tls``), so a connection is counted and timed from the
  moment it is accepted, handshake included;
* going over the limit is logged once per overload episode, with a summary when the load is
  back under half the limit; asyncio's per-accept "out of system resource" tracebacks are
  replaced by the same single line.

Whether aiohttp is waiting for a request is read from ``RequestHandler._waiter`` (the future
its request loop awaits, the same test aiohttp's keep-alive timer makes) and ``_messages``.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import ssl
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger("pyketi.listener")

FD_RESERVE = 256  # descriptors kept for the database, SSH sessions, logs
BUSY_REPLY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Content-Length: 12\r\nConnection: close\r\n\r\nServer busy\n")


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (OSError, ValueError):
            pass
    return soft


def connection_limit(wanted: int, fd_limit: int) -> int:
    """``wanted``, lowered so that connections cannot use up the descriptors."""
    if fd_limit == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, fd_limit - FD_RESERVE))


class ConnectionGuard:
    """Book-keeping of the open connections of one listener."""

    def __init__(self, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._open: OrderedDict[GuardedProtocol, None] = OrderedDict()  # oldest first
        self._overloaded = False
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0
        self.on_count: Callable[[int], None] | None = None  # told every change of len()

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, proto: GuardedProtocol) -> bool:
        """Make room for ``proto``; False when every open connection is busy."""
        if len(self._open) >= self.max_connections:
            self.overload("connection limit of %d reached" % self.max_connections)
            victim = next((p for p in self._open if p.waiting_for_request()), None)
            if victim is None:
                self.refused += 1
                return False
            self.evicted += 1
            self.release(victim)
            victim.close()
        self._open[proto] = None
        if self.on_count is not None:
            self.on_count(len(self._open))
        return True

    def release(self, proto: GuardedProtocol) -> None:
        self._open.pop(proto, None)
        if self.on_count is not None:
            self.on_count(len(self._open))
        if self._overloaded and len(self._open) <= self.max_connections // 2:
            log.info("connection load back to normal: %d waiting connections closed and "
                     "%d refused while at the limit", self.evicted, self.refused)
            self._overloaded = False
            self.evicted = self.refused = 0

    def overload(self, reason: str) -> None:
        if not self._overloaded:
            self._overloaded = True
            log.warning("overload: %s; closing the oldest connections that have not sent a "
                        "request, refusing new ones while all are busy (logged once until "
                        "the load is back under half the limit)", reason)


class GuardedProtocol(asyncio.Protocol):
    """One connection: aiohttp's request handler behind the guard's limits."""

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol],
                 tls: ssl.SSLContext | None = None):
        self._guard = guard
        self._make_handler = make_handler
        self._tls = tls
        self._handler: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._handshake: asyncio.Task[None] | None = None
        self._early: list[bytes] = []  # decrypted bytes that came with the handshake's end
        self._closed = False
        self._had_request = False  # a complete request arrived on this connection

    # -- state read from aiohttp's handler -----------------------------------
    def waiting_for_request(self) -> bool:
        """No request of this connection is being handled: closing it loses nothing."""
        if self._handler is None:
            return self._handshake is not None  # still in the TLS handshake
        if not self._had_request:
            return True
        waiter = getattr(self._handler, "_waiter", None)
        return waiter is not None and not waiter.done()

    def _request_arrived(self) -> bool:
        waiter = getattr(self._handler, "_waiter", None)
        return bool(getattr(self._handler, "_messages", None)) or (
            waiter is not None and waiter.done())

    # -- header timer ------------------------------------------------------------
    def _arm(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._guard.header_timeout, self._header_timeout)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_timeout(self) -> None:
        self._timer = None
        if self.waiting_for_request():
            self._guard.timed_out += 1
            self.close()

    def close(self) -> None:
        self._closed = True
        self._disarm()
        force_close = getattr(self._handler, "force_close", None)
        if force_close is not None:
            force_close()
        elif self._transport is not None:
            self._transport.close()

    # -- asyncio.Protocol --------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        if not self._guard.admit(self):
            if self._tls is None and isinstance(transport, asyncio.WriteTransport):
                transport.write(BUSY_REPLY)
            self._closed = True
            transport.close()
            return
        self._arm()
        if self._tls is None:
            self._start(transport)
            return
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()  # not a byte before start_tls owns the socket
        self._handshake = asyncio.get_running_loop().create_task(self._start_tls(transport))

    async def _start_tls(self, raw: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(raw, self, self._tls, server_side=True,
                                             ssl_handshake_timeout=self._guard.header_timeout,
                                             ssl_shutdown_timeout=self._guard.header_timeout)
        except Exception:  # noqa: BLE001 - failed or timed-out handshake, peer gone
            raw.close()
            return
        finally:
            self._handshake = None
        if self._closed or transport is None:
            if transport is not None:
                transport.close()
            return
        self._transport = transport
        self._start(transport)
        early, self._early = self._early, []
        for data in early:
            self.data_received(data)

    def _start(self, transport: asyncio.BaseTransport) -> None:
        self._handler = self._make_handler()
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._handler is None:
            if self._handshake is not None and not self._closed:
                self._early.append(data)
            return
        self._handler.data_received(data)
        if self._request_arrived():
            self._had_request = True
            self._disarm()
        elif self.waiting_for_request():
            self._arm()  # part of a request: its headers must be complete in time

    def eof_received(self) -> bool | None:
        return self._handler.eof_received() if self._handler is not None else None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = True
        self._disarm()
        self._guard.release(self)
        if self._handler is not None:
            self._handler.connection_lost(exc)
            self._handler = None
        self._transport = None

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.resume_writing()


def quiet_accept_errors(guard: ConnectionGuard, loop: asyncio.AbstractEventLoop) -> None:
    """Route asyncio's "socket.accept() out of system resource" (a traceback per attempt)
    to the guard's single overload line; other loop errors keep the default handler."""
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message", "").startswith("socket.accept() out of system resource"):
            guard.overload(f"out of file descriptors ({context.get('exception')})")
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)


class SharedAcceptor:
    """Accepts connections on a listening socket that several worker processes share
    (``workers`` > 1), one connection per wake-up.

    asyncio's own accept loop takes every connection waiting in the queue at once, so
    the first worker to wake would take a whole burst of clients and the others none.
    Here a worker takes one connection per turn of its loop, and a worker that has more
    open connections than another lets the next one wait up to ``DEFER_SECONDS`` for
    the other worker to take it (then takes it itself: a busy or stopped sibling delays
    a connection by that much at most).  Clients keep their connections open (HTTP
    keep-alive), so spreading connections spreads the requests."""

    DEFER_SECONDS = 0.002
    ERROR_PAUSE_SECONDS = 0.1

    def __init__(self, sock, protocol_factory: Callable[[], asyncio.Protocol],
                 busier: Callable[[], bool], guard: ConnectionGuard) -> None:
        self._sock = sock
        self._factory = protocol_factory
        self._busier = busier
        self._guard = guard
        self._loop = asyncio.get_running_loop()
        self._deferred = False
        self._reading = False
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    def start(self) -> None:
        if not self._closed and not self._reading:
            self._loop.add_reader(self._sock.fileno(), self._ready)
            self._reading = True

    def _pause(self, seconds: float) -> None:
        if self._reading:
            self._loop.remove_reader(self._sock.fileno())
            self._reading = False
        self._timer = self._loop.call_later(seconds, self.start)

    def _ready(self) -> None:
        if not self._deferred and self._busier():
            self._deferred = True
            self._pause(self.DEFER_SECONDS)
            return
        self._deferred = False
        try:
            conn, _addr = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it
        except OSError as e:  # out of file descriptors, ...: logged once, retried later
            self._guard.overload(f"accept failed ({e})")
            self._pause(self.ERROR_PAUSE_SECONDS)
            return
        conn.setblocking(False)
        task = self._loop.create_task(self._connect(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the peer left already
            conn.close()

    def close(self) -> None:
        """Stop accepting (the socket stays open: the other workers still use it)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._reading:
            self._loop.remove_reader(self._sock.fileno())
            self._reading = False
