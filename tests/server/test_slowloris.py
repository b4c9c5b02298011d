"""Slowloris against a real server: real sockets holding unfinished request headers.

A hostile client opening many connections that never finish their headers must not stop
``/hello`` from answering; the half-open connections are closed after
``header_timeout_seconds``; going over ``max_connections`` is logged once, not per accept.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import time
import urllib.request

from server_process import ADMIN_SECRET
from tlscert import self_signed

from pyketi.client.auth import authorization_header

FLOOD = 2000
LIMIT = 200
HEADER_TIMEOUT = 3
PARTIAL = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def half_open(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(PARTIAL)
    sock.setblocking(False)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (EOF or reset); drains any 503 reply."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_all_closed(socks: list[socket.socket], deadline: float) -> list[socket.socket]:
    """The sockets still open at ``deadline`` (bounded wait)."""
    open_ = set(socks)
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while open_ and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                if key.fileobj in open_ and closed_by_peer(key.fileobj):
                    open_.discard(key.fileobj)
                    sel.unregister(key.fileobj)
    return list(open_)


def hello_seconds(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url + "/hello", timeout=10) as reply:
        assert reply.status == 200 and reply.read() == b"Hello from Heketi"
    return time.monotonic() - started


def test_slowloris_flood_is_bounded_and_hello_keeps_answering(server_factory):
    server = server_factory(config={"max_connections": LIMIT,
                                    "header_timeout_seconds": HEADER_TIMEOUT})
    socks: list[socket.socket] = []
    try:
        for _ in range(FLOOD):
            socks.append(half_open(server.port))
        flooded = time.monotonic()
        assert hello_seconds(server.url) < 2  # the flood does not stop the service

        # a trickling client (a header byte every 0.5 s) is still cut at the header timeout
        trickler = half_open(server.port)
        socks.append(trickler)
        started = time.monotonic()
        cut_after = None
        while time.monotonic() - started < HEADER_TIMEOUT + 5:
            if closed_by_peer(trickler):
                cut_after = time.monotonic() - started
                break
            try:
                trickler.send(b"x")
            except OSError:
                cut_after = time.monotonic() - started
                break
            time.sleep(0.5)
        assert cut_after is not None, "a trickling slowloris connection was never closed"
        assert HEADER_TIMEOUT - 1 <= cut_after <= HEADER_TIMEOUT + 2, cut_after

        still_open = wait_all_closed(socks, flooded + HEADER_TIMEOUT + 10)
        assert not still_open, f"{len(still_open)} half-open connections were not closed"
        assert hello_seconds(server.url) < 2
    finally:
        for s in socks:
            s.close()
    time.sleep(0.5)
    log = server.log_path.read_text(errors="replace")
    assert log.count("overload:") == 1, server.log_tail()
    assert "connection limit of 200 reached" in log
    assert "Traceback" not in log and "EMFILE" not in log
    assert "connection load back to normal" in log


def test_tls_handshakes_count_and_time_out_too(server_factory, tmp_path):
    """With enable_tls, connections that never finish the TLS handshake are counted against
    the limit and closed after the header timeout; HTTPS keeps answering."""
    cert, key = self_signed(tmp_path)
    server = server_factory(config={"max_connections": 50, "header_timeout_seconds": 2,
                                    "enable_tls": True, "cert_file": str(cert),
                                    "key_file": str(key)})
    trusted = ssl.create_default_context(cafile=str(cert))
    socks: list[socket.socket] = []
    try:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, never finished
            sock.setblocking(False)
            socks.append(sock)
        flooded = time.monotonic()
        started = time.monotonic()
        with urllib.request.urlopen(server.url + "/hello", timeout=10, context=trusted) as r:
            assert r.status == 200
        assert time.monotonic() - started < 2
        still_open = wait_all_closed(socks, flooded + 2 + 10)
        assert not still_open, f"{len(still_open)} unfinished handshakes were not closed"
    finally:
        for s in socks:
            s.close()
    log = server.log_path.read_text(errors="replace")
    assert log.count("overload:") == 1 and "connection limit of 50 reached" in log, log


def test_busy_connections_are_kept_and_slow_bodies_time_out(server_factory):
    """Connections whose request is being handled are never dropped for a newcomer: at the
    limit with all busy, a new connection gets 503. A body that does not arrive within the
    header timeout gets 408 and frees the connection."""
    server = server_factory(config={"max_connections": 3, "header_timeout_seconds": 2})
    slow = []
    try:
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            auth = authorization_header("admin", ADMIN_SECRET, "POST", "/internal/logging")
            sock.sendall(b"POST /internal/logging HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Authorization: " + auth.encode() + b"\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lo")
            slow.append(sock)
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as newcomer:
            newcomer.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert newcomer.recv(4096).startswith(b"HTTP/1.1 503 ")
        for sock in slow:
            reply = sock.recv(4096)
            assert reply.startswith(b"HTTP/1.1 408 "), reply
            assert b"Request body not received in time" in reply
            sock.setblocking(False)
        assert not wait_all_closed(slow, time.monotonic() + 5)
        assert hello_seconds(server.url) < 2
    finally:
        for sock in slow:
            sock.close()


def test_idle_keepalive_connections_are_closed(server_factory):
    """``keepalive_timeout_seconds`` bounds an idle kept-alive connection (aiohttp's
    AppRunner default is an hour)."""
    server = server_factory(config={"keepalive_timeout_seconds": 1})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.setblocking(False)
        started = time.monotonic()
        assert not wait_all_closed([sock], started + 10)
        assert time.monotonic() - started < 4
