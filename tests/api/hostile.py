"""A seeded hostile client for ``test_hostile.py``.

Every request goes over a real socket as raw bytes, so paths, queries and headers
can hold what a well-behaved client library refuses to send.  Routes come from the
app's router, so a new route is attacked without anyone listing it here.

For each request the generator picks a route and a method (mostly the route's own),
fills the path with a real id, an unknown id or junk, maybe adds a hostile query,
extra headers and a token (admin, user, none, or a broken one), and a body: a valid
request body for that route with one or two fields made hostile, random JSON, or
raw bytes that are no JSON at all.  Valid requests are part of the mix, so the
database changes and the later requests meet a topology with volumes and bricks.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import logging
import random
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, unquote

from sqlalchemy import event

METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS")
JUNK_STRINGS = [
    "", " ", "-", "--", "--version", "-rf /", "--xml --remote-host=evil.example",
    "--log-file=/etc/cron.d/x", "performance.readdir-ahead --log-file=/tmp/x", "a" * 5000,
    "\x00", "a\x00b", "\n", "\r\nX-Injected: 1", "\x1b[31mred", "\t", "\u202eevil", "\ud800",
    "\udfff", "\U0001f600", "é", "../../etc/passwd", "/dev/../etc/shadow", "/dev//sdb", "/dev/",
    "/dev/shm", "fe80::1%eth0", "fe80::1%\n", "$(reboot)", "`id`", "; rm -rf /", "| cat",
    "%s%n%x", "{{7*7}}", "' OR 1=1 --", "\" OR \"\"=\"", "null", "true", "0", "-1",
    "0" * 32, "f" * 32, "g" * 32, "F" * 32, "ab", "all", "force", "vol_1", "node1.example.com",
    "10.0.0.1", "::1", "localhost", "set", "update", "delete", "online", "offline", "failed",
    "locked", "enable", "disable", "replicate", "disperse", "none", "normal", "read-only",
    "local-client", "debug", "info",
]
JUNK_NUMBERS: list[Any] = [0, -1, 1, 2, 3, 4, 2 ** 31, -2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64,
                           10 ** 400, -10 ** 400, 1.5, -0.0, 1e308, -1e308, 1e-300, 0.1]
RAW_BODIES = [
    b"", b"{", b"}", b"[", b"[" * 100_000, b'{"a":' * 20_000, b"{" * 2000, b"null", b"[]",
    b'"str"', b"42", b"NaN", b"Infinity", b'{"size": NaN}', b'{"size": 1e400}',
    b'{"size": -Infinity}', b"\xff\xfe{}", b'{"name": "\xff"}', b"\xef\xbb\xbf{}",
    b'{"a": "\\ud800\\udc00\\udfff"}', b'{"a": "\\u0000"}', b"{'single': 1}", b'{"a":1} trailing',
    b'{"a": 1, "a": 2}', b"\x00" * 100, b'{"size": 1' + b" " * 200_000 + b"}",
]
EXTRA_HEADERS = [
    b"Content-Type: application/x-www-form-urlencoded", b"Content-Type: \xff\xfe",
    b"X-Forwarded-For: 1.2.3.4, \xff", b"X-Junk: " + b"a" * 9000, b"Accept: */*",
    b"Accept-Encoding: gzip, br, zstd", b"Expect: 100-continue", b"Cookie: a=b; \x7f",
    b"Origin: null", b"Range: bytes=0-1", b"If-None-Match: *", b"Connection: keep-alive, Upgrade",
    b"Upgrade: websocket", b"Authorization: Basic YWRtaW46YWRtaW4=", b"Host: \xff.example",
    b"X-HTTP-Method-Override: DELETE", b"Content-Encoding: identity",
]

# heketi answers a placement failure with a synchronous 500 (spec §1.10 item 8, §11.3);
# its clients expect exactly that ("Failed to allocate new volume: No space"), so these
# are counted apart, not as server errors
HEKETI_500_PREFIXES = ("Failed to allocate new volume: ", "Failed to allocate volume expansion: ",
                       "Failed to allocate new block volume: ")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(key: str, claims: Any, header: Any = None) -> str:
    """An HS256 token with any claims (PyJWT refuses to sign hostile ones)."""
    signing_input = (b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@dataclass
class Sent:
    method: str
    path: str
    status: int
    body_preview: str
    reply_preview: str


@dataclass
class Report:
    requests: int = 0
    dumps: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[Sent] = field(default_factory=list)
    changed_by_refused: list[Sent] = field(default_factory=list)
    queue_failures: Counter = field(default_factory=Counter)
    heketi_500s: Counter = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"5xx: {s}" for s in self.server_errors]
        out += [f"refused request changed /db/dump: {s}" for s in self.changed_by_refused]
        out += [f"traceback logged: {t}" for t in self.tracebacks]
        return out


class TracebackCatcher(logging.Handler):
    """Collects log records carrying an exception (an internal error, in a request
    or in a job), which a status code alone would not show."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.name.startswith("pyketi"):
            self.records.append(f"{record.name}: {record.getMessage()[:200]}: "
                                f"{record.exc_info[1]!r:.300}")


class HostileClient:
    def __init__(self, api: Any, keys: dict[str, str], seed: int):
        self.api = api
        self.keys = keys
        self.rng = random.Random(seed)
        self.port = api.client.server.port
        self.routes = sorted({(r.method, r.resource.canonical)
                              for r in api.client.server.app.router.routes()})
        self.queue_ids: list[str] = []
        self.counter = 0

    # -- the pieces of a request ------------------------------------------------
    def ids(self, dump: dict, canonical: str) -> list[str]:
        kinds = {"/clusters/": "clusterentries", "/nodes/": "nodeentries",
                 "/devices/": "deviceentries", "/volumes/": "volumeentries",
                 "/bricks/": "brickentries", "/operations/": "pendingoperations"}
        for prefix, kind in kinds.items():
            if canonical.startswith(prefix):
                return sorted(dump.get(kind) or {})
        if canonical.startswith("/queue/"):
            return self.queue_ids[-20:]
        return []

    def path(self, canonical: str, dump: dict) -> str:
        rng = self.rng
        real = self.ids(dump, canonical)
        roll = rng.random()
        if roll < 0.75 and real:
            ident = rng.choice(real)
        elif roll < 0.85:
            ident = "".join(rng.choice("0123456789abcdefABCDEF")
                            for _ in range(rng.choice((1, 31, 32, 33, 4000))))
        else:
            ident = quote(rng.choice(JUNK_STRINGS), safe="", errors="surrogatepass")
        path = canonical.replace("{id}", ident)
        roll = rng.random()
        if roll < 0.05:
            path += "/"
        elif roll < 0.07:
            path = path.replace("/", "//", 1)
        elif roll < 0.09:
            path += "/.."
        elif roll < 0.10:
            path = path[:-1] + "%" + f"{ord(path[-1]):02X}"
        elif roll < 0.11:
            path += rng.choice(("%00", "%0d%0a", "%ff", "%2e%2e", "%2F", ";x=1", "#frag"))
        return path

    def query(self) -> str:
        rng = self.rng
        if rng.random() > 0.15:
            return ""
        parts = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(("a", "name", "x", "", "%00", "q[]", "%ff"))
            value = quote(rng.choice(JUNK_STRINGS)[:300], safe="", errors="surrogatepass")
            parts.append(f"{key}={value}" if rng.random() < 0.9 else key)
        return "?" + "&".join(parts)

    def token(self, method: str, signed_path: str) -> bytes | None:
        rng = self.rng
        roll = rng.random()
        now = int(time.time())
        digest = hashlib.sha256(f"{method}&{signed_path}".encode(
            "utf-8", "surrogateescape")).hexdigest()
        base = {"iss": "admin", "iat": now, "exp": now + 300, "qsh": digest}
        if roll < 0.55:
            return forge(self.keys["admin"], base).encode()
        if roll < 0.75:
            return forge(self.keys["user"], {**base, "iss": "user"}).encode()
        if roll < 0.82:
            return None
        key = self.keys["admin"]
        bad: list[Any] = [
            forge("wrong-key-0123456789abcdef0123456789", base),
            forge(key, {**base, "iss": ["admin"]}), forge(key, {**base, "iss": {}}),
            forge(key, {**base, "iss": None}), forge(key, {**base, "exp": "soon"}),
            forge(key, {**base, "exp": 1e300}), forge(key, {**base, "exp": now + 10 ** 6}),
            forge(key, {**base, "exp": now - 10}), forge(key, {**base, "iat": now + 10 ** 6}),
            forge(key, {**base, "nbf": [1]}), forge(key, {**base, "qsh": 5}),
            forge(key, {**base, "qsh": None}), forge(key, [1, 2]), forge(key, "str"),
            forge(key, base, {"alg": "none"}), forge(key, base, {"alg": ["HS256"]}),
            forge(key, base, {"alg": "HS256", "kid": 5}), forge(key, base, "hdr"),
            "garbage", "a.b.c", "..", "a" * 10000, "é.é.é",
        ]
        token = rng.choice(bad)
        return token.encode("utf-8", "surrogateescape") if isinstance(token, str) else token

    def junk(self, depth: int = 0) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return rng.choice(JUNK_STRINGS)
        if roll < 0.55:
            return rng.choice(JUNK_NUMBERS)
        if roll < 0.62:
            return rng.choice((True, False, None))
        if depth > 3 or roll < 0.75:
            return rng.choice(([], {}, [[[[[]]]]], {"": {"": {}}}, ["a"] * 100))
        if roll < 0.88:
            return [self.junk(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(JUNK_STRINGS)[:40]: self.junk(depth + 1)
                for _ in range(rng.randint(0, 4))}

    def mutate(self, value: Any) -> Any:
        """``value`` with one spot made hostile (replaced, deleted, retyped, nested)."""
        rng = self.rng
        if isinstance(value, dict) and value and rng.random() < 0.8:
            key = rng.choice(sorted(value))
            out = dict(value)
            roll = rng.random()
            if roll < 0.1:
                del out[key]
            elif roll < 0.2:
                out[rng.choice(JUNK_STRINGS)[:40]] = self.junk()
            else:
                out[key] = self.mutate(value[key])
            return out
        if isinstance(value, list) and value and rng.random() < 0.8:
            out = list(value)
            i = rng.randrange(len(out))
            out[i] = self.mutate(out[i])
            if rng.random() < 0.1:
                out += [self.junk() for _ in range(rng.randint(1, 40))]
            return out
        if rng.random() < 0.05:
            inner: Any = value
            for _ in range(rng.choice((10, 99, 101, 500))):
                inner = [inner]
            return inner
        return self.junk()

    def template(self, method: str, canonical: str, dump: dict) -> Any:
        """A valid body for the route (the mutations start from it)."""
        rng = self.rng
        self.counter += 1
        k = self.counter
        clusters = sorted(dump.get("clusterentries") or {}) or ["0" * 32]
        nodes = sorted(dump.get("nodeentries") or {}) or ["0" * 32]
        volumes = sorted(dump.get("volumeentries") or {})
        ops = sorted(dump.get("pendingoperations") or {})
        tags = {"change_type": rng.choice(("set", "update", "delete")),
                "tags": {rng.choice(("zone", "rack", "x")): rng.choice(("a", "b", ""))}}
        bodies: dict[tuple[str, str], Callable[[], Any]] = {
            ("POST", "/clusters"): lambda: {"block": rng.random() < 0.3, "file": True},
            ("POST", "/clusters/{id}/flags"): lambda: {"block": True, "file": rng.random() < 0.8},
            ("POST", "/nodes"): lambda: {
                "zone": rng.randint(1, 3), "cluster": rng.choice(clusters),
                "hostnames": {"manage": [f"hostile{k}.example.com"],
                              "storage": [f"10.77.{k // 250 % 250}.{k % 250 + 1}"]},
                "tags": {"rack": "r1"}},
            ("POST", "/nodes/{id}/state"): lambda: {
                "state": rng.choice(("online", "offline", "failed")), "healcheck": ""},
            ("POST", "/nodes/{id}/tags"): lambda: tags,
            ("POST", "/devices"): lambda: {
                "node": rng.choice(nodes), "name": f"/dev/sd{rng.choice('cdefgh')}",
                "destroydata": rng.random() < 0.5, "tags": {}},
            ("DELETE", "/devices/{id}"): lambda: {"forceforget": rng.random() < 0.5},
            ("POST", "/devices/{id}/state"): lambda: {
                "state": rng.choice(("online", "offline", "failed"))},
            ("POST", "/devices/{id}/tags"): lambda: tags,
            ("POST", "/volumes"): lambda: {
                "size": rng.randint(1, 3), "name": rng.choice(("", f"hv{k}")),
                "durability": rng.choice((
                    {"type": "replicate", "replicate": {"replica": 3}},
                    {"type": "none"}, {"type": "disperse", "disperse": {"data": 2,
                                                                        "redundancy": 1}})),
                "glustervolumeoptions": rng.choice(([], ["performance.readdir-ahead on"],
                                                    ["user.heketi.zone-checking strict"])),
                "snapshot": {"enable": rng.random() < 0.5, "factor": 1.5},
                "clusters": rng.choice(([], [clusters[0]])), "block": rng.random() < 0.2},
            ("POST", "/volumes/{id}/expand"): lambda: {"expand_size": rng.randint(1, 2)},
            ("POST", "/volumes/{id}/clone"): lambda: {"name": rng.choice(("", f"hc{k}"))},
            ("POST", "/volumes/{id}/block-restriction"): lambda: {
                "restriction": rng.choice(("locked", ""))},
            ("POST", "/bricks/to-evict/{id}"): lambda: {
                "healcheck": rng.choice(("", "enable", "disable"))},
            ("POST", "/operations/pending/cleanup"): lambda: {
                "operations": rng.sample(ops, min(len(ops), 2))},
            ("POST", "/admin"): lambda: {"state": rng.choice(("normal", "local-client"))},
            ("POST", "/internal/logging"): lambda: {"loglevel": {"glusterfs": "info"}},
        }
        del volumes
        make = bodies.get((method, canonical))
        return make() if make else self.junk()

    def body(self, method: str, canonical: str, dump: dict) -> bytes | None:
        rng = self.rng
        if method in ("GET", "HEAD", "OPTIONS") and rng.random() < 0.9:
            return None
        roll = rng.random()
        if roll < 0.3:
            value = self.template(method, canonical, dump)
        elif roll < 0.7:
            value = self.template(method, canonical, dump)
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                value = self.mutate(value)
        elif roll < 0.78:
            value = self.junk()
        elif roll < 0.9:
            return rng.choice(RAW_BODIES)
        else:
            return None
        try:
            text = json.dumps(value, ensure_ascii=rng.random() < 0.7)
        except RecursionError:  # mutations nested it deeper than json.dumps goes
            return b"[" * 5000 + b"]" * 5000
        return text.encode("utf-8", "surrogatepass")

    # -- sending ----------------------------------------------------------------
    def build(self, dump: dict) -> tuple[str, str, bytes, str]:
        rng = self.rng
        route_method, canonical = rng.choice(self.routes)
        method = route_method if rng.random() < 0.88 else rng.choice(METHODS)
        path = self.path(canonical, dump)
        target = path + self.query()
        signed = unquote(path.split("#")[0], errors="surrogateescape") \
            if rng.random() < 0.5 else path
        lines = [f"{method} ".encode() + target.encode("utf-8", "surrogateescape")
                 + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        token = self.token(method, signed)
        if token is not None:
            scheme = rng.choice((b"Bearer", b"Bearer", b"Bearer", b"bearer", b"Basic", b"Bearer "))
            lines.append(b"Authorization: " + scheme + b" " + token)
        body = self.body(method, canonical, dump)
        if rng.random() < 0.12:
            lines += rng.sample(EXTRA_HEADERS, rng.randint(1, 3))
        if body is not None:
            roll = rng.random()
            if roll < 0.05:
                lines.append(b"Content-Encoding: gzip")
                body = gzip.compress(body) if rng.random() < 0.5 else body
            if roll > 0.95:
                lines.append(b"Transfer-Encoding: chunked")
                half = len(body) // 2
                body = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                                for part in (body[:half], body[half:]) if part) + b"0\r\n\r\n"
                if rng.random() < 0.3:
                    body = body.replace(b"\r\n", b"\n", 1)
            else:
                lines.append(b"Content-Length: %d" % len(body))
        request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
        preview = (body or b"")[:120].decode("utf-8", "backslashreplace")
        return method, target, request, preview

    async def send(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(request)
            try:
                await writer.drain()
            except ConnectionError:
                pass
            reply = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        while True:
            head, _, rest = reply.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ")[1]) if lines[0].startswith(b"HTTP/") else 0
            if 100 <= status < 200:  # 100 Continue, then the real answer
                reply = rest
                continue
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
            return status, headers, rest


async def follow(api: Any, location: str, timeout: float = 60) -> tuple[int, str]:
    """Poll a 202's queue entry to its end with the admin token (which reads every job)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await api.get(location)
        if r.status == 200 and r.headers.get("X-Pending") == "true":
            await asyncio.sleep(0.005)
            continue
        return r.status, r.text
    raise AssertionError(f"{location} still pending after {timeout}s")


class WriteCounter:
    """Counts the statements that may change the database (anything but SELECT), so
    ``/db/dump`` is fetched and compared only after a request that wrote: without a
    write the dump cannot have changed."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.count = 0

    def __enter__(self) -> WriteCounter:
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
            self.count += 1


async def run(api: Any, keys: dict[str, str], seed: int, count: int,
              report: Report | None = None, full_check_every: int = 50) -> Report:
    """``count`` hostile requests.  After each one that wrote to the database (and
    every ``full_check_every`` requests anyway) ``/db/dump`` is compared with the one
    before it: a refused (4xx) request must leave it unchanged."""
    report = report or Report()
    client = HostileClient(api, keys, seed)
    catcher = TracebackCatcher()
    logging.getLogger().addHandler(catcher)
    pyketi_log = logging.getLogger("pyketi")
    level = pyketi_log.level
    try:
        with WriteCounter(api.rt.db.engine) as writes:
            before = (await api.get("/db/dump")).json()
            checked = writes.count
            for i in range(count):
                method, target, request, preview = client.build(before)
                status, headers, reply = await client.send(request)
                report.requests += 1
                report.statuses[status] += 1
                sent = Sent(method, target[:200], status, preview,
                            reply[:200].decode("utf-8", "backslashreplace"))
                if status == 500 and reply.decode("utf-8", "replace").startswith(
                        HEKETI_500_PREFIXES):
                    report.heketi_500s[reply[:60].decode("utf-8", "replace")] += 1
                elif status >= 500 or status == 0:
                    report.server_errors.append(sent)
                if status == 202 and headers.get("location", "").startswith("/queue/"):
                    location = headers["location"]
                    client.queue_ids.append(location.rsplit("/", 1)[1])
                    final, text = await follow(api, location)
                    if final == 500:
                        report.queue_failures[text.strip()[:80]] += 1
                if api.rt.admin_state != "normal":  # a valid POST /admin: keep going
                    api.rt.admin_state = "normal"
                pyketi_log.setLevel(level)  # a valid POST /internal/logging
                if writes.count == checked and (i + 1) % full_check_every:
                    continue
                after_reply = await api.get("/db/dump")
                assert after_reply.status == 200, after_reply.text
                after = after_reply.json()
                report.dumps += 1
                if 400 <= status < 500 and after != before:
                    report.changed_by_refused.append(sent)
                before, checked = after, writes.count
        report.tracebacks += catcher.records
    finally:
        logging.getLogger().removeHandler(catcher)
        pyketi_log.setLevel(level)
    return report
