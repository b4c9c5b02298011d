"""Queue polling through an unavailable server (502/503/504 and no reply),
against a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pyketi.client import PollPolicy, PyketiError, ServerUnreachable
from pyketi.client.http import Transport


class Script:
    """Replies to ``GET /queue/job`` in order; the last one repeats."""

    def __init__(self, queue_replies: list[int]) -> None:
        self.queue_replies = queue_replies
        self.seen: list[str] = []


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.seen.append("POST")
            self._reply(202, Location="/queue/job")

        def do_GET(self) -> None:
            if self.path == "/volumes/v1":
                script.seen.append("GET volume")
                self._reply(200, json.dumps({"id": "v1"}).encode(),
                            Content_Type="application/json")
                return
            status = script.queue_replies.pop(0) if len(script.queue_replies) > 1 \
                else script.queue_replies[0]
            script.seen.append(str(status))
            if status == 200:
                self._reply(200, X_Pending="true")
            elif status == 303:
                self._reply(303, Location="/volumes/v1")
            elif status == 404:
                self._reply(404, b"Id not found")
            else:
                self._reply(status, b"Service Unavailable")

    return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script([])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_502_503_504_while_polling_are_waited_out(scripted):
    url, script = scripted
    script.queue_replies[:] = [200, 503, 502, 504, 200, 303]
    statuses: list[str] = []
    transport = Transport(url, "admin", "secret", observer=statuses.append,
                          poll=PollPolicy(initial=0.01, outage=5))
    reply = transport.request("POST", "/volumes", {})
    assert reply.json() == {"id": "v1"}
    assert script.seen == ["POST", "200", "503", "502", "504", "200", "303", "GET volume"]
    assert any(s.startswith("server answered 503") for s in statuses), statuses


def test_an_unavailable_queue_beyond_the_outage_budget_fails(scripted):
    url, script = scripted
    script.queue_replies[:] = [503]
    transport = Transport(url, "admin", "secret", poll=PollPolicy(initial=0.05, outage=0.5))
    with pytest.raises(ServerUnreachable) as err:
        transport.request("POST", "/volumes", {})
    assert err.value.status == 0
    assert err.value.message.startswith("server answered 503 Service Unavailable (for 0s ")
    assert err.value.message.endswith(f"it may still finish: {url}/queue/job)")
    assert 3 <= script.seen.count("503") <= 10  # retried with backoff, then gave up


def test_a_queue_entry_gone_after_an_outage_is_explained(scripted):
    url, script = scripted
    script.queue_replies[:] = [200, 503, 404]
    transport = Transport(url, "admin", "secret", poll=PollPolicy(initial=0.01, outage=5))
    with pytest.raises(PyketiError) as err:
        transport.request("POST", "/volumes", {})
    assert err.value.status == 404
    assert err.value.message == (f"Id not found: the queue entry {url}/queue/job was "
                                 "gone after the server came back; the operation may have "
                                 "finished")
