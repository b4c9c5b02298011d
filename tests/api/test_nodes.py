"""/nodes routes (spec §1.6, §1.2, §11.4)."""

from apihelp import (DEVICE_KEYS, ID_RE, NODE_KEYS, accepted, check_errors, dump, failed, json_ok,
                     node_body, text_error, topology, unknown_id)

from pyketi.executors.doubles.mock import MockExecutor


async def test_add_node_async_protocol_and_info(api):
    cid = await api.cluster()
    r = await api.post("/nodes", node_body(cid, 1))
    location = accepted(r)
    final = await api.wait(r)
    assert final.status == 303
    node_location = final.headers["Location"]
    assert node_location.startswith("/nodes/") and ID_RE.match(node_location[7:])
    assert final.text == f'<a href="{node_location}">See Other</a>.\n\n'
    info = json_ok(await api.get(node_location), 200, NODE_KEYS)
    assert info == {"zone": 1,
                    "hostnames": {"manage": ["node1.example.com"], "storage": ["10.99.0.1"]},
                    "cluster": cid, "id": node_location[7:], "state": "online", "devices": []}
    assert list(info["hostnames"]) == ["manage", "storage"]
    text_error(await api.get(location), 404, "Id not found")  # consumed by the first read
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == [info["id"]]


async def test_add_node_keeps_extra_hostnames_and_tags(api):
    cid = await api.cluster()
    body = node_body(cid, 1, zone=3, tags={"arbiter": "supported", "rack": "r1"})
    body["hostnames"] = {"manage": ["node1.example.com", "node1-alt.example.com"],
                         "storage": ["10.99.0.1", "10.99.1.1"]}
    info = await api.done(await api.post("/nodes", body))
    assert list(info) == ["zone", "hostnames", "cluster", "tags", "id", "state", "devices"]
    assert info["zone"] == 3
    assert info["hostnames"] == body["hostnames"]
    assert info["tags"] == {"arbiter": "supported", "rack": "r1"}


async def test_info_lists_devices_sorted_with_bricks(api):
    topo = await topology(api, nodes=3, devices=2)
    vol = await api.volume(1)
    node = json_ok(await api.get(f"/nodes/{topo['nodes'][0]}"), 200, NODE_KEYS)
    ids = [d["id"] for d in node["devices"]]
    assert ids == sorted(topo["devices"][:2])
    for device in node["devices"]:
        assert list(device) == DEVICE_KEYS
        assert device == json_ok(await api.get(f"/devices/{device['id']}"))
    bricks = [b for d in node["devices"] for b in d["bricks"]]
    assert len(bricks) == 1 and bricks[0]["volume"] == vol["id"]


async def test_info_unknown_and_non_hex(api):
    text_error(await api.get(f"/nodes/{unknown_id()}"), 404, "Id not found")
    text_error(await api.get("/nodes/node1"), 404, "Invalid path or request")


ADD_VALIDATION = [
    ({"zone": 0}, "zone: cannot be blank"),
    ({"zone": None}, "zone: cannot be blank"),
    ({"zone": -1}, "zone: must be no less than 1"),
    ({"cluster": ""}, "cluster: cannot be blank"),
    ({"cluster": "0123"}, "cluster: 0123 is not a valid UUID"),
    ({"cluster": "z" * 32}, f"cluster: {'z' * 32} is not a valid UUID"),
    ({"hostnames": {}},
     "hostnames: (manage: cannot be blank; storage: cannot be blank.)"),
    ({"hostnames": {"manage": ["n1.example.com"], "storage": []}},
     "hostnames: (storage: cannot be blank.)"),
    ({"hostnames": {"manage": ["n1.example.com", "bad_host!"], "storage": ["10.0.0.1"]}},
     "hostnames: (manage: [n1.example.com bad_host!] is not a valid manage hostname.)"),
    ({"hostnames": {"manage": ["n1.example.com"], "storage": ["10.0.0.1", ""]}},
     "hostnames: (storage: [10.0.0.1 ] is not a valid storage hostname.)"),
    ({"hostnames": {"manage": ["-n1.example.com"], "storage": ["10.0.0.1"]}},
     "hostnames: (manage: [-n1.example.com] is not a valid manage hostname.)"),
    ({"zone": 0, "cluster": ""}, "cluster: cannot be blank; zone: cannot be blank"),
    ({"tags": {f"t{i}": "v" for i in range(33)}},
     "tags: too many tags specified (33), up to 32 supported"),
    ({"tags": {"": "v"}}, "tags: tag names may not be empty"),
    ({"tags": {"x" * 33: "v"}},
     f"tags: tag name {'x' * 33}: the length must be between 1 and 32"),
    ({"tags": {"k": "v" * 65}}, "tags: value of tag k: the length must be no more than 64"),
    ({"tags": {"bad tag": "v"}}, "tags: invalid characters in tag name bad tag"),
]


async def test_add_validation(api):
    cid = await api.cluster()
    cases = []
    for change, message in ADD_VALIDATION:
        body = {k: v for k, v in {**node_body(cid, 1), **change}.items() if v is not None}
        cases.append((body, 400, f"validation failed: {message}."))
    before = await dump(api)
    await check_errors(api, "POST", "/nodes", cases)
    assert await dump(api) == before


async def test_add_ip_v6_and_plain_hostnames_are_valid(api):
    cid = await api.cluster()
    body = node_body(cid, 1)
    body["hostnames"] = {"manage": ["storage1"], "storage": ["fd00::1"]}
    info = await api.done(await api.post("/nodes", body))
    assert info["hostnames"] == body["hostnames"]


async def test_add_unparsable(api):
    raws = [b"", b"{", b'{"zone": "1"}', b'{"hostnames": []}', b'{"hostnames": {"manage": "n1"}}',
            b'{"tags": {"a": 1}}', b'{"zone": 1.5}', b"[]", b"true"]
    await check_errors(api, "POST", "/nodes",
                       [(raw, 422, "request unable to be parsed") for raw in raws])


async def test_add_to_unknown_cluster(api):
    text_error(await api.post("/nodes", node_body(unknown_id(), 1)), 404,
               "Cluster id does not exist")


async def test_add_duplicate_hostnames(api):
    cid = await api.cluster()
    other = await api.cluster()
    nid = await api.node(cid, 1)
    before = await dump(api)
    r = await api.post("/nodes", node_body(other, 1))  # same names, other cluster
    used = f"already used by node with id {nid}\n\n"  # spec §11.4: two newlines
    assert (r.status, r.text) == (409, f"Hostname node1.example.com {used}")
    body = node_body(cid, 2)
    body["hostnames"]["storage"] = ["10.99.0.1"]
    r = await api.post("/nodes", body)
    assert (r.status, r.text) == (409, f"Hostname 10.99.0.1 {used}")
    assert await dump(api) == before


async def test_manage_and_storage_names_are_separate_namespaces(api):
    cid = await api.cluster()
    await api.node(cid, 1)
    body = node_body(cid, 2)
    body["hostnames"] = {"manage": ["10.99.0.1"], "storage": ["node1.example.com"]}
    info = await api.done(await api.post("/nodes", body))
    assert info["hostnames"] == body["hostnames"]


async def test_add_first_node_without_glusterd(make_api, db_url):
    api = await make_api(db_url, executor=MockExecutor(down_hosts={"node1.example.com"}))
    cid = await api.cluster()
    text_error(await api.post("/nodes", node_body(cid, 1)), 400,
               "New Node doesn't have glusterd running")
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == []


async def test_add_node_when_no_peer_has_glusterd(make_api, db_url):
    executor = MockExecutor()
    api = await make_api(db_url, executor=executor)
    cid = await api.cluster()
    await api.node(cid, 1)
    executor.down_hosts.add("node1.example.com")
    text_error(await api.post("/nodes", node_body(cid, 2)), 400,
               "None of the nodes in cluster has glusterd running")


async def test_failed_peer_probe_releases_hostnames(make_api, db_url):
    executor = MockExecutor()
    api = await make_api(db_url, executor=executor)
    cid = await api.cluster()
    first = await api.node(cid, 1)
    executor.down_hosts.add("10.99.0.2")  # the new node's storage address cannot be probed
    message = await failed(api, await api.post("/nodes", node_body(cid, 2)))
    assert "peer probe" in message
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == [first]
    executor.down_hosts.clear()
    second = await api.node(cid, 2)  # the hostnames are free again
    assert sorted(json_ok(await api.get(f"/clusters/{cid}"))["nodes"]) == sorted([first, second])


async def test_pending_node_is_invisible(gated_api):
    api, executor = await gated_api("peer_probe")
    cid = await api.cluster()
    first = await api.node(cid, 1)
    r = await api.post("/nodes", node_body(cid, 2))
    accepted(r)
    await executor.reached()
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == [first]
    [pending] = set((await dump(api))["nodeentries"]) - {first}
    text_error(await api.get(f"/nodes/{pending}"), 404, "Id not found")
    poll = await api.get(r.headers["Location"])
    assert (poll.status, poll.headers.get("X-Pending"), poll.text) == (200, "true", "")
    executor.release()
    second = (await api.done(r))["id"]
    assert sorted(json_ok(await api.get(f"/clusters/{cid}"))["nodes"]) == sorted([first, second])


async def test_delete_node(api):
    cid = await api.cluster()
    keep = await api.node(cid, 1)
    gone = await api.node(cid, 2)
    r = await api.delete(f"/nodes/{gone}")
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.text) == (204, "")
    assert "Location" not in final.headers
    text_error(await api.get(f"/nodes/{gone}"), 404, "Id not found")
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == [keep]
    again = await api.node(cid, 2)  # hostnames released
    assert again != gone


async def test_delete_node_with_devices_is_refused(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    await api.device(nid)
    before = await dump(api)
    text_error(await api.delete(f"/nodes/{nid}"), 409,
               f"Unable to delete node [{nid}] because it contains devices")
    assert await dump(api) == before


async def test_delete_unknown_node(api):
    text_error(await api.delete(f"/nodes/{unknown_id()}"), 404, "Id not found")


async def state(api, nid, wanted, **extra):
    return await api.wait(await api.post(f"/nodes/{nid}/state", {"state": wanted, **extra}))


async def test_state_offline_online(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    r = await api.post(f"/nodes/{nid}/state", {"state": "offline"})
    accepted(r)
    assert (await api.wait(r)).status == 204
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "offline"
    assert (await state(api, nid, "offline")).status == 204  # same state: no-op
    assert (await state(api, nid, "online", healcheck="disable")).status == 204
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "online"


async def test_state_online_to_failed_is_refused(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    final = await state(api, nid, "failed")
    text_error(final, 500, f"Node must be offline before remove operation is performed, "
                           f"node:{nid}")
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "online"


async def test_failed_node_cannot_come_back(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    assert (await state(api, nid, "offline")).status == 204
    assert (await state(api, nid, "failed")).status == 204
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "failed"
    text_error(await state(api, nid, "online"), 500,
               "Cannot move a failed/removed node to online state")
    text_error(await state(api, nid, "offline"), 500,
               "Cannot move a failed/removed node to offline state")
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "failed"


async def test_state_bad_requests(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    await check_errors(api, "POST", f"/nodes/{nid}/state", [
        ({}, 400, "validation failed: state: cannot be blank."),
        ({"state": "removed"}, 400, "validation failed: state: removed is not valid state."),
        ({"state": "online", "healcheck": "maybe"}, 400,
         "validation failed: healcheck: maybe is not valid heal info check."),
        ({"state": 1}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
    ])
    assert json_ok(await api.get(f"/nodes/{nid}"))["state"] == "online"


async def test_state_validation_before_lookup(api):
    text_error(await api.post(f"/nodes/{unknown_id()}/state", {}), 400,
               "validation failed: state: cannot be blank.")
    text_error(await api.post(f"/nodes/{unknown_id()}/state", {"state": "offline"}), 404,
               "Id not found")


async def test_tags_set_update_delete(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1, tags={"a": "1"})
    path = f"/nodes/{nid}/tags"
    r = await api.post(path, {"tags": {"b": "2", "c": "3"}, "change_type": "update"})
    assert json_ok(r) == {"a": "1", "b": "2", "c": "3"}
    r = await api.post(path, {"tags": {"a": "ignored", "zz": ""}, "change_type": "delete"})
    assert json_ok(r) == {"b": "2", "c": "3"}
    r = await api.post(path, {"tags": {"fish": "bulb"}, "change_type": "set"})
    assert json_ok(r) == {"fish": "bulb"}
    assert json_ok(await api.get(f"/nodes/{nid}"))["tags"] == {"fish": "bulb"}
    r = await api.post(path, {"tags": {}, "change_type": "set"})
    assert (json_ok(r), r.text) == ({}, "{}\n")
    assert "tags" not in json_ok(await api.get(f"/nodes/{nid}"))  # omitempty


async def test_tags_bad_requests(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1, tags={"keep": "me"})
    await check_errors(api, "POST", f"/nodes/{nid}/tags", [
        ({"tags": {"a": "b"}}, 400, "validation failed: change_type: cannot be blank."),
        ({"tags": {"a": "b"}, "change_type": "merge"}, 400,
         "validation failed: change_type: must be a valid value."),
        ({"tags": {"bad tag": "b"}, "change_type": "set"}, 400,
         "validation failed: tags: invalid characters in tag name bad tag."),
        ({"tags": {"a": 1}, "change_type": "set"}, 422, "request unable to be parsed"),
        ({"tags": ["a"], "change_type": "set"}, 422, "request unable to be parsed"),
    ])
    assert json_ok(await api.get(f"/nodes/{nid}"))["tags"] == {"keep": "me"}


async def test_tags_unknown_node(api):
    text_error(await api.post(f"/nodes/{unknown_id()}/tags",
                              {"tags": {"a": "b"}, "change_type": "set"}), 404, "Id not found")
