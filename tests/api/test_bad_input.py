"""Input that used to answer 500 (issue 8, items 11 and 12): each case is a clear 4xx in
heketi's shape (401 for tokens), on SQLite and PostgreSQL, and changes nothing."""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest

from apihelp import TEXT_CT, dump, json_ok, node_body, text_error, topology

PARSE = "request unable to be parsed"


def forge(key: str, claims: dict, header: dict | None = None) -> str:
    """An HS256 token with any claims (PyJWT refuses to sign a non-string ``iss``)."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = (b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def claims(path: str = "/clusters", method: str = "GET", **extra) -> dict:
    now = int(time.time())
    body = {"iss": "admin", "iat": now, "exp": now + 300,
            "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


async def with_token(api, token: str, path: str = "/clusters"):
    return await api.request("GET", path, auth=False, headers={"Authorization": f"Bearer {token}"})


async def raw_exchange(api, *parts: bytes, pause: float = 0.3) -> tuple[int, bytes, bytes]:
    """Send ``parts`` over a real socket with a pause between them; (status, head, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
    try:
        for i, part in enumerate(parts):
            if i:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def raw_request(sign, method: str, path: str, body: bytes = b"", headers: bytes = b"",
                length: bool = True) -> bytes:
    auth = sign("admin", method, path.split("?")[0]).encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            ).encode() + b"Authorization: Bearer " + auth + b"\r\n" + headers
    if length:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


# -- tokens -----------------------------------------------------------------

async def test_non_string_iss_is_401(api, keys):
    for iss in (["admin"], {}, {"admin": 1}, 5, True, 1.5):
        text_error(await with_token(api, forge(keys["admin"], claims(iss=iss))), 401,
                   "Invalid JWT token: iss claim must be a string")


async def test_non_ascii_token_is_401(api, sign):
    # undecodable header bytes reach the server as lone surrogates; PyJWT raised on them
    request = (b"GET /clusters HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"Authorization: Bearer \xff\xfe.e30.e30\r\n\r\n")
    status, _, body = await raw_exchange(api, request)
    assert (status, body) == (401, b"Invalid JWT token: malformed token: characters outside "
                                   b"base64url\n")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
async def test_time_claims_must_be_finite_whole_seconds(api, keys, claim):
    now = int(time.time())
    bad = [1e300, -1e300, float("nan"), float("inf"), float("-inf"), now + 0.5, str(now + 60),
           True, False, [now], {"t": now}, 10 ** 30]
    problems = []
    for value in bad:
        r = await with_token(api, forge(keys["admin"], claims(**{claim: value})))
        want = f"Invalid JWT token: {claim} claim must be a whole number of seconds\n"
        if (r.status, r.text) != (401, want):
            problems.append(f"{claim}={value!r}: {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)
    # a whole number written as a float is still a time (JavaScript clients do that)
    value = float(now + 60) if claim == "exp" else float(now - 1)
    assert json_ok(await with_token(api, forge(keys["admin"], claims(**{claim: value})))) == {
        "clusters": []}


async def test_token_lifetime_is_capped(api, keys):
    now = int(time.time())
    refused = "Invalid JWT token: Token lifetime exceeds 1h0m0s (jwt.max_token_lifetime)"
    for extra in ({"exp": now + 3601}, {"iat": None, "exp": now + 3700},
                  {"iat": now - 4000, "exp": now + 60}, {"exp": 2 ** 62}):
        text_error(await with_token(api, forge(keys["admin"], claims(**extra))), 401, refused)
    # heketi's clients: the Python client signs 1 s, the Go client 5 min; 10 min and the
    # full hour are still fine
    for extra in ({"exp": now + 1}, {"exp": now + 300}, {"exp": now + 600},
                  {"exp": now + 3600}, {"iat": None, "exp": now + 3000}):
        assert json_ok(await with_token(api, forge(keys["admin"], claims(**extra)))) == {
            "clusters": []}, extra


async def test_token_lifetime_setting(make_api, db_url, keys):
    api = await make_api(db_url, jwt_max_token_lifetime=60)
    now = int(time.time())
    text_error(await with_token(api, forge(keys["admin"], claims(exp=now + 300))), 401,
               "Invalid JWT token: Token lifetime exceeds 1m0s (jwt.max_token_lifetime)")
    assert json_ok(await with_token(api, forge(keys["admin"], claims(exp=now + 60)))) == {
        "clusters": []}


# -- bodies -----------------------------------------------------------------

async def test_deep_nesting_is_a_parse_error(api):
    cid = await api.cluster()
    before = await dump(api)
    deep = b"[" * 100_000
    nested = b'{"size": 1, "x": ' + b"[" * 150 + b"]" * 150 + b"}"
    problems = []
    for path in ("/clusters", f"/clusters/{cid}/flags", "/nodes", "/devices", "/volumes",
                 "/operations/pending/cleanup", "/admin", "/internal/logging"):
        for body in (deep, nested, b'{"a":' * 50_000):
            r = await api.post(path, raw=body)
            if r.status not in (400, 422) or not r.text.startswith(PARSE):
                problems.append(f"{path} {body[:20]!r}: {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)
    assert await dump(api) == before
    # nesting a real client could send is still read (unknown keys are ignored)
    r = await api.post("/clusters", raw=b'{"block": true, "x": ' + b"[" * 50 + b"]" * 50 + b"}")
    assert r.status == 201 and r.json()["block"] is True


async def test_lone_surrogates_are_replaced_as_go_does(api):
    """``"\\ud800"`` is valid JSON escaping but no character: Go's decoder makes it U+FFFD.
    The echo in an error text used to fail to encode (aiohttp's own 500 page)."""
    cid = await api.cluster()
    before = await dump(api)
    body = node_body(cid, 1)
    raw = json.dumps(body).replace("node1.example.com", "\\ud800").encode()
    r = await api.post("/nodes", raw=raw)
    text_error(r, 400, "validation failed: hostnames: (manage: [\ufffd] is not a valid manage "
                       "hostname.).")
    r = await api.post("/volumes", raw=b'{"size": 1, "clusters": ["\\udfff"]}')
    text_error(r, 400, "Cluster id \ufffd not found")
    assert await dump(api) == before
    r = await api.post("/clusters", raw=b'{"file": true, "\\ud800": 1}')
    assert r.status == 201 and r.json()["file"] is True


async def test_internal_logging_wrong_types(api):
    problems = []
    for body in ({"loglevel": {"glusterfs": []}}, {"loglevel": {"glusterfs": {}}},
                 {"loglevel": {"glusterfs": 1}}, {"loglevel": {"glusterfs": True}},
                 {"loglevel": {"glusterfs": "debug", "other": []}}, {"loglevel": []},
                 {"loglevel": "debug"}, {"loglevel": 1}):
        r = await api.post("/internal/logging", body)
        want = (400, f"{PARSE}: loglevel must map logger names to level names\n", TEXT_CT)
        if (r.status, r.text, r.headers.get("Content-Type")) != want:
            problems.append(f"{body}: {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)
    text_error(await api.post("/internal/logging", {"loglevel": {"glusterfs": None}}), 422,
               "invalid log level: ")
    assert json_ok(await api.get("/internal/logging")) == {"loglevel": {"glusterfs": "info"}}


async def test_body_split_across_segments_is_read_whole(api, sign):
    """``content.read(n)`` returns what has arrived so far: a body sent in two TCP
    segments was cut at the first and answered 422."""
    body = json.dumps({"block": True, "file": True, "pad": "x" * 4000}).encode()
    request = raw_request(sign, "POST", "/clusters", body)
    cut = len(request) - len(body) + 1000
    status, _, reply = await raw_exchange(api, request[:cut], request[cut:])
    assert status == 201, reply
    info = json.loads(reply)
    assert (info["block"], info["file"]) == (True, True)


async def test_unreadable_bodies_are_4xx(api, sign):
    before = await dump(api)
    for encoding in (b"gzip", b"deflate"):
        request = raw_request(sign, "POST", "/clusters", b"not compressed at all",
                              b"Content-Encoding: " + encoding + b"\r\n")
        status, _, body = await raw_exchange(api, request)
        assert (status, body) == (422, b"request unable to be parsed\n"), encoding
    chunked = raw_request(sign, "POST", "/clusters", b"zz\r\nabc\r\n0\r\n\r\n",
                          b"Transfer-Encoding: chunked\r\n", length=False)
    status, _, _ = await raw_exchange(api, chunked)
    assert status == 400
    assert await dump(api) == before


# -- the trailing-slash redirect ---------------------------------------------

async def test_redirect_keeps_the_raw_query(api, sign):
    """``Location`` used the decoded query: CR/LF in it broke the response (500)."""
    request = raw_request(sign, "GET", "/volumes/?a=%0d%0aX-Injected:%201&b=%00")
    status, head, body = await raw_exchange(api, request)
    assert status == 301
    lines = head.split(b"\r\n")
    assert b"Location: /volumes?a=%0d%0aX-Injected:%201&b=%00" in lines
    assert not any(line.startswith(b"X-Injected") for line in lines)
    assert body == b'<a href="/volumes?a=%0d%0aX-Injected:%201&amp;b=%00">Moved Permanently</a>.\n\n'


# -- control characters never reach the database ----------------------------

async def test_nul_and_controls_in_every_stored_string_are_refused(api):
    """On PostgreSQL a NUL in a query parameter raised (500); every string field a
    request stores or looks up is refused first."""
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    c, n, d, v = topo["cluster"], topo["nodes"][0], topo["devices"][0], vol["id"]
    before = await dump(api)
    cases = []
    for bad in ("\x00", "a\x00b", "x\n", "\x1b[31m"):
        cases += [
            ("/volumes", {"size": 1, "name": bad}), ("/volumes", {"size": 1, "clusters": [bad]}),
            ("/volumes", {"size": 1, "glustervolumeoptions": [f"a {bad}"]}),
            ("/volumes", {"size": 1, "durability": {"type": bad}}),
            ("/nodes", {**node_body(c, 9), "cluster": bad}),
            ("/nodes", {**node_body(c, 9), "tags": {"a": bad}}),
            ("/nodes", {**node_body(c, 9), "tags": {bad: "a"}}),
            ("/devices", {"node": n, "name": f"/dev/sd{bad}"}),
            ("/devices", {"node": bad, "name": "/dev/sdz"}),
            (f"/nodes/{n}/state", {"state": bad}), (f"/devices/{d}/state", {"state": bad}),
            (f"/nodes/{n}/tags", {"change_type": "set", "tags": {"a": bad}}),
            (f"/devices/{d}/tags", {"change_type": bad, "tags": {}}),
            (f"/volumes/{v}/clone", {"name": bad}),
            (f"/volumes/{v}/block-restriction", {"restriction": bad}),
            ("/operations/pending/cleanup", {"operations": [bad]}),
            ("/admin", {"state": bad}),
        ]
    problems = []
    for path, body in cases:
        r = await api.post(path, body)
        if not 400 <= r.status < 500 or "\x00" in r.text:
            problems.append(f"{path} {body!r}: {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)
    assert await dump(api) == before


async def test_a_node_refusing_a_device_is_no_internal_error(make_api, db_url, caplog):
    """Found by the hostile run: adding a disk the node refuses (already a PV) failed the
    job as it should, but logged a traceback as for a bug in pyketi."""
    from pyketi.executors.base import ExecutorError
    from pyketi.executors.doubles.mock import MockExecutor

    class RefusingNode(MockExecutor):
        async def device_setup(self, host, device_name, *args, **kwargs):
            raise ExecutorError(f'Can\'t initialize physical volume "{device_name}" without -ff',
                                host)

    api = await make_api(db_url, executor=RefusingNode())
    node = await api.node(await api.cluster(), 1)
    final = await api.wait(await api.post("/devices", {"node": node, "name": "/dev/sdc"}))
    assert final.status == 500 and "without -ff" in final.text
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("pyketi")]
