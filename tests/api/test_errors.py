"""Bad requests on every route: heketi's status and text, never a 500 or a
traceback, and never a change of state (spec §1.1, §1.4-1.8, §10.8, §11.2, §11.9)."""

import pytest

from apihelp import TEXT_CT, dump, json_ok, topology, unknown_id

PARSE = "request unable to be parsed"


@pytest.fixture
async def world(api):
    """A small topology with one volume; the test compares /db/dump before and after."""
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    ids = {"c": topo["cluster"], "n": topo["nodes"][0], "d": topo["devices"][0], "v": vol["id"]}
    before = await dump(api)
    yield api, ids
    after = await dump(api)
    assert after == before, "a refused request changed the database"


async def expect(api, cases):
    """``(method, path, body, status, text)``; text None = empty body; body bytes = raw."""
    problems = []
    for method, path, body, status, text in cases:
        kw = {"raw": body} if isinstance(body, bytes) else {"body": body}
        r = await api.request(method, path, **kw)
        if text is None:
            ok = (r.status, r.text) == (status, "")
        else:
            ok = ((r.status, r.text, r.headers.get("Content-Type"))
                  == (status, text + "\n", TEXT_CT))
        if not ok or r.status == 500 or "Traceback" in r.text:
            problems.append(f"{method} {path} {body!r:.60}: {r.status} {r.text!r:.300}")
    assert not problems, "\n".join(problems)


def body_routes(ids):
    """Every route that parses a JSON body."""
    c, n, d, v = ids["c"], ids["n"], ids["d"], ids["v"]
    return ["/clusters", f"/clusters/{c}/flags", "/nodes", f"/nodes/{n}/state",
            f"/nodes/{n}/tags", "/devices", f"/devices/{d}/state", f"/devices/{d}/tags",
            "/volumes", f"/volumes/{v}/expand", f"/volumes/{v}/clone",
            f"/volumes/{v}/block-restriction"]


async def test_unparsable_bodies(world):
    api, ids = world
    raws = [b"", b"{", b"{}}", b'{"a":1} x', b"[]", b'"text"', b"42", b"\xff\xfe{}",
            b"{'single': 'quotes'}"]
    await expect(api, [("POST", p, raw, 422, PARSE) for raw in raws for p in body_routes(ids)])


async def test_wrong_json_types(world):
    api, ids = world
    c, n, d, v = ids["c"], ids["n"], ids["d"], ids["v"]
    await expect(api, [(m, p, b, 422, PARSE) for m, p, b in [
        ("POST", "/clusters", {"block": 1}),
        ("POST", f"/clusters/{c}/flags", {"file": "true"}),
        ("POST", "/nodes", {"zone": "1"}),
        ("POST", "/nodes", {"zone": 1.0}),  # Go refuses a fraction for an int field
        ("POST", "/nodes", {"zone": 1e2}),
        ("POST", "/nodes", {"zone": 2 ** 64}),
        ("POST", "/nodes", {"hostnames": {"manage": [1]}}),
        ("POST", "/nodes", {"hostnames": "node1"}),
        ("POST", "/nodes", {"cluster": 5}),
        ("POST", "/nodes", {"tags": {"a": True}}),
        ("POST", f"/nodes/{n}/state", {"state": None, "healcheck": 1}),
        ("POST", f"/nodes/{n}/tags", {"tags": "a=b", "change_type": "set"}),
        ("POST", "/devices", {"name": 5}),
        ("POST", "/devices", {"destroydata": "false"}),
        ("POST", f"/devices/{d}/state", {"state": ["offline"]}),
        ("POST", "/volumes", {"size": True}),
        ("POST", "/volumes", {"size": 1, "durability": "replicate"}),
        ("POST", "/volumes", {"size": 1, "durability": {"type": 3}}),
        ("POST", "/volumes", {"size": 1, "durability": {"disperse": {"data": "4"}}}),
        ("POST", "/volumes", {"size": 1, "snapshot": {"enable": "yes"}}),
        ("POST", "/volumes", {"size": 1, "snapshot": True}),
        ("POST", "/volumes", {"size": 1, "glustervolumeoptions": [1]}),
        ("POST", "/volumes", {"size": 1, "name": 7}),
        ("POST", f"/volumes/{v}/expand", {"expand_size": 1.0}),
        ("POST", f"/volumes/{v}/clone", {"name": ["x"]}),
        ("POST", f"/volumes/{v}/block-restriction", {"restriction": 1}),
    ]] + [
        # NaN/Infinity are not JSON (Python's json would accept them)
        ("POST", "/volumes", b'{"size": 1, "snapshot": {"enable": false, "factor": NaN}}', 422,
         PARSE),
        ("POST", "/volumes", b'{"size": Infinity}', 422, PARSE),
    ])


async def test_null_body_is_an_empty_request(api):
    # Go's json.Unmarshal of `null` into a struct succeeds and leaves it zero-valued
    r = await api.post("/clusters", raw=b"null")
    assert r.status == 201 and r.json()["block"] is False
    await expect(api, [
        ("POST", "/volumes", b"null", 400, "validation failed: size: cannot be blank."),
        ("POST", "/nodes", b"null", 400,
         "validation failed: cluster: cannot be blank; hostnames: (manage: cannot be blank; "
         "storage: cannot be blank.); zone: cannot be blank."),
    ])


async def test_request_content_type_is_not_checked(api):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "image/png"):
        r = await api.post("/clusters", {"file": True}, headers={"Content-Type": content_type})
        assert r.status == 201 and r.json()["file"] is True


async def test_oversize_body(world):
    api, ids = world
    big = b'{"size": 1, "name": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    await expect(api, [("POST", "/volumes", big, 422, PARSE),
                       ("POST", "/clusters", b"{" + b" " * (2 * 1024 * 1024) + b"}", 422, PARSE)])


async def test_validation_texts(world):
    api, ids = world
    c, n, d, v = ids["c"], ids["n"], ids["d"], ids["v"]
    hosts = {"manage": ["m.example.com"], "storage": ["10.1.1.1"]}
    await expect(api, [(m, p, b, 400, "validation failed: " + t) for m, p, b, t in [
        ("POST", "/nodes", {"zone": 1, "cluster": c, "hostnames": {
            "manage": ["host name"], "storage": ["10.1.1.1"]}},
         "hostnames: (manage: [host name] is not a valid manage hostname.)."),
        ("POST", "/nodes", {"zone": 1, "cluster": c, "hostnames": {
            "manage": ["m.example.com"], "storage": ["10.1.1.1;reboot"]}},
         "hostnames: (storage: [10.1.1.1;reboot] is not a valid storage hostname.)."),
        ("POST", "/nodes", {"zone": 1, "cluster": c, "hostnames": hosts,
                            "tags": {"a/b": "c"}},
         "tags: invalid characters in tag name a/b."),
        ("POST", "/devices", {"node": n, "name": "/dev/$(reboot)"},
         "name: must be in a valid format."),
        ("POST", "/devices", {"node": n, "name": "../etc/passwd"},
         "name: must be in a valid format."),
        ("POST", "/devices", {"node": n, "name": "/dev/sdb\n"}, "name: must be in a valid format."),
        ("POST", f"/devices/{d}/tags", {"tags": {"k" * 33: "v"}, "change_type": "set"},
         f"tags: tag name {'k' * 33}: the length must be between 1 and 32."),
        ("POST", "/volumes", {"size": 1, "name": "../x"}, "name: must be in a valid format."),
        ("POST", "/volumes", {"size": 1, "name": "vol\u00e9"}, "name: must be in a valid format."),
        ("POST", f"/volumes/{v}/clone", {"name": "a b"}, "name: must be in a valid format."),
        ("POST", f"/volumes/{v}/expand", {"expand_size": 0}, "expand_size: cannot be blank."),
        ("POST", f"/nodes/{n}/tags", {"tags": {}, "change_type": ""},
         "change_type: cannot be blank."),
    ]])


def id_routes(x):
    """Every route with an ``{id}``, with a body that passes validation."""
    return [
        ("GET", f"/clusters/{x}", None), ("DELETE", f"/clusters/{x}", None),
        ("POST", f"/clusters/{x}/flags", {}),
        ("GET", f"/nodes/{x}", None), ("DELETE", f"/nodes/{x}", None),
        ("POST", f"/nodes/{x}/state", {"state": "offline"}),
        ("POST", f"/nodes/{x}/tags", {"tags": {}, "change_type": "set"}),
        ("GET", f"/devices/{x}", None), ("DELETE", f"/devices/{x}", None),
        ("POST", f"/devices/{x}/state", {"state": "offline"}),
        ("GET", f"/devices/{x}/resync", None),
        ("POST", f"/devices/{x}/tags", {"tags": {}, "change_type": "set"}),
        ("GET", f"/volumes/{x}", None), ("DELETE", f"/volumes/{x}", None),
        ("POST", f"/volumes/{x}/expand", {"expand_size": 1}),
        ("POST", f"/volumes/{x}/clone", {}),
        ("POST", f"/volumes/{x}/block-restriction", {"restriction": "locked"}),
        ("GET", f"/queue/{x}", None),
    ]


async def test_non_hex_ids_match_no_route(world):
    api, _ = world
    for bad in ("badid", "xyz", "0123456789abcdefg", "-1"):
        await expect(api, [(m, p, b, 404, "Invalid path or request") for m, p, b in id_routes(bad)])
    await expect(api, [("GET", "/operations/pending/zz", None, 404, "Invalid path or request")])


async def test_unknown_hex_ids(world):
    api, _ = world
    for unknown in (unknown_id(), "bad", "ABCDEF", "0" * 64):
        await expect(api, [(m, p, b, 404, "Id not found") for m, p, b in id_routes(unknown)])


async def test_unknown_paths(world):
    api, _ = world
    await expect(api, [(m, p, None, 404, "Invalid path or request") for m, p in [
        # heketi has no /topology either; pyketi's GET /topology is its own (test_topology.py)
        ("GET", "/"), ("GET", "/topologies"), ("GET", "/volume"),
        ("POST", "/clusterz"),
        ("GET", "/volumes/abc/bricks"), ("GET", "/backup"), ("DELETE", "/no/such/thing"),
        # a method pyketi's own route does not take: heketi's answer, the path is unknown
        ("POST", "/topology"), ("DELETE", "/topology"), ("PUT", "/topology/"),
    ]])


async def test_wrong_method_is_405_with_empty_body(world):
    api, ids = world
    c, v = ids["c"], ids["v"]
    await expect(api, [(m, p, None, 405, None) for m, p in [
        ("PUT", "/clusters"), ("DELETE", "/clusters"), ("PATCH", f"/clusters/{c}"),
        ("GET", f"/clusters/{c}/flags"), ("GET", "/nodes"), ("GET", "/devices"),
        ("PUT", "/volumes"), ("POST", f"/volumes/{v}"), ("GET", f"/volumes/{v}/expand"),
        ("DELETE", f"/queue/{unknown_id()}"), ("DELETE", "/admin"), ("POST", "/db/dump"),
        ("PUT", "/operations"),
    ]])


async def test_trailing_slash_redirects_to_the_route(api):
    # gorilla/mux StrictSlash(true): only a path (and method) that has a route redirects
    cid = await api.cluster()
    for method, path in [("GET", "/volumes/"), ("POST", "/volumes/"), ("GET", "/clusters/"),
                         ("GET", f"/clusters/{cid}/"), ("DELETE", f"/clusters/{unknown_id()}/"),
                         ("POST", f"/clusters/{cid}/flags/"), ("GET", "/admin/")]:
        r = await api.request(method, path)
        location = path.rstrip("/")
        assert (r.status, r.headers.get("Location")) == (301, location), (method, path, r.text)
        # Go's http.Redirect writes a small HTML body for GET only
        assert r.text == (f'<a href="{location}">Moved Permanently</a>.\n\n'
                          if method == "GET" else "")
    r = await api.request("GET", "/volumes/?x=1")
    assert (r.status, r.headers.get("Location")) == (301, "/volumes?x=1")
    r = await api.request("DELETE", "/volumes/")  # the path exists, not for DELETE
    assert (r.status, r.text) == (405, "")
    r = await api.request("GET", "/no/such/path/")
    assert (r.status, r.text) == (404, "Invalid path or request\n")
    assert json_ok(await api.get("/clusters")) == {"clusters": [cid]}


async def test_long_values_are_echoed_not_crashing(world):
    # spec §11.9: error texts echo what was sent; a long value must not break anything
    api, ids = world
    long_name = "x" * 5000
    await expect(api, [
        ("POST", "/volumes", {"size": 1, "clusters": [long_name]}, 400,
         f"Cluster id {long_name} not found"),
        ("POST", "/devices", {"node": long_name, "name": "/dev/sdq"}, 400,
         f"validation failed: node: {long_name} is not a valid UUID."),
        ("GET", f"/volumes/{'a' * 4000}", None, 404, "Id not found"),
    ])
