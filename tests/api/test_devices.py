"""/devices routes (spec §1.7, §1.2)."""

from apihelp import (BRICK_KEYS, DEVICE_KEYS, MOCK_DEVICE_KIB, TEXT_CT, accepted, check_errors,
                     dump, failed, json_ok, text_error, topology, unknown_id)


async def node_with_device(api, tags=None):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    return nid, await api.device(nid, tags=tags)


async def set_state(api, did, wanted):
    return await api.wait(await api.post(f"/devices/{did}/state", {"state": wanted}))


async def test_add_device_and_info(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    r = await api.post("/devices", {"node": nid, "name": "/dev/sdb", "destroydata": False})
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.text) == (204, "")
    assert "Location" not in final.headers
    node = json_ok(await api.get(f"/nodes/{nid}"))
    [device] = node["devices"]
    info = json_ok(await api.get(f"/devices/{device['id']}"), 200, DEVICE_KEYS)
    assert info == {"name": "/dev/sdb",
                    "storage": {"total": MOCK_DEVICE_KIB, "free": MOCK_DEVICE_KIB, "used": 0},
                    "id": device["id"], "state": "online", "bricks": []}
    assert list(info["storage"]) == ["total", "free", "used"]
    assert info == device


async def test_device_tags_are_shown_after_name(api):
    _, did = await node_with_device(api, tags={"speed": "ultra"})
    info = json_ok(await api.get(f"/devices/{did}"))
    assert list(info) == ["name", "tags", "storage", "id", "state", "bricks"]
    assert info["tags"] == {"speed": "ultra"}


async def test_add_validation(api):
    nid, _ = await node_with_device(api)
    before = await dump(api)
    await check_errors(api, "POST", "/devices", [
        ({"node": nid}, 400, "validation failed: name: cannot be blank."),
        ({"node": nid, "name": "sdb"}, 400, "validation failed: name: must be in a valid format."),
        ({"node": nid, "name": "/dev/sd b"}, 400,
         "validation failed: name: must be in a valid format."),
        ({"node": nid, "name": "/dev/sdb;reboot"}, 400,
         "validation failed: name: must be in a valid format."),
        ({"name": "/dev/sdc"}, 400, "validation failed: node: cannot be blank."),
        ({"name": "/dev/sdc", "node": "abc"}, 400,
         "validation failed: node: abc is not a valid UUID."),
        ({}, 400, "validation failed: name: cannot be blank; node: cannot be blank."),
        ({"node": nid, "name": "/dev/sdc", "tags": {"": "x"}}, 400,
         "validation failed: tags: tag names may not be empty."),
        ({"node": nid, "name": "/dev/sdc", "destroydata": "yes"}, 422,
         "request unable to be parsed"),
        ({"node": nid, "name": ["/dev/sdc"]}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
        (b"{'name': '/dev/sdc'}", 422, "request unable to be parsed"),
        ({"node": unknown_id(), "name": "/dev/sdc"}, 404, "Node id does not exist"),
    ])
    assert await dump(api) == before


async def test_device_names_with_allowed_characters(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    name = "/dev/disk/by-path/pci-0000:00:07.0-scsi-0:0:0:1_x"
    did = await api.device(nid, name)
    assert json_ok(await api.get(f"/devices/{did}"))["name"] == name


async def test_same_device_twice_fails_on_the_node(api):
    nid, did = await node_with_device(api)
    r = await api.post("/devices", {"node": nid, "name": "/dev/sdb"})
    accepted(r)  # heketi has no server-side duplicate check: the node refuses it
    message = await failed(api, r)
    assert message.startswith("Initializing device /dev/sdb failed"), message
    assert [d["id"] for d in json_ok(await api.get(f"/nodes/{nid}"))["devices"]] == [did]


async def test_info_unknown(api):
    text_error(await api.get(f"/devices/{unknown_id()}"), 404, "Id not found")
    text_error(await api.get("/devices/sdb"), 404, "Invalid path or request")


async def test_bricks_in_device_info(api):
    topo = await topology(api, nodes=3, devices=1)
    vols = [await api.volume(1) for _ in range(2)]
    did = topo["devices"][0]
    info = json_ok(await api.get(f"/devices/{did}"), 200, DEVICE_KEYS)
    assert [b["id"] for b in info["bricks"]] == sorted(b["id"] for b in info["bricks"])
    assert sorted(b["volume"] for b in info["bricks"]) == sorted(v["id"] for v in vols)
    for brick in info["bricks"]:
        assert list(brick) == BRICK_KEYS
        assert brick["device"] == did and brick["node"] == topo["nodes"][0]
        assert brick["path"] == (f"/var/lib/heketi/mounts/vg_{did}/brick_{brick['id']}/brick")
        assert brick["size"] == 1048576  # KiB
    storage = info["storage"]
    assert storage["used"] > 2 * 1048576 and storage["free"] + storage["used"] == storage["total"]


async def test_state_offline_online_and_noop(api):
    _, did = await node_with_device(api)
    r = await api.post(f"/devices/{did}/state", {"state": "offline"})
    accepted(r)
    assert (await api.wait(r)).status == 204
    assert json_ok(await api.get(f"/devices/{did}"))["state"] == "offline"
    assert (await set_state(api, did, "offline")).status == 204
    assert (await set_state(api, did, "online")).status == 204
    assert json_ok(await api.get(f"/devices/{did}"))["state"] == "online"


async def test_state_online_to_failed_is_refused(api):
    _, did = await node_with_device(api)
    text_error(await set_state(api, did, "failed"), 500,
               f"Device must be offline before remove operation is performed, device:{did}")
    assert json_ok(await api.get(f"/devices/{did}"))["state"] == "online"


async def test_empty_device_remove_then_delete(api):
    nid, did = await node_with_device(api)
    text_error(await api.delete(f"/devices/{did}"), 400, f"device: {did} is not in failed state")
    assert (await set_state(api, did, "offline")).status == 204
    text_error(await api.delete(f"/devices/{did}"), 400, f"device: {did} is not in failed state")
    assert (await set_state(api, did, "failed")).status == 204
    assert json_ok(await api.get(f"/devices/{did}"))["state"] == "failed"
    text_error(await set_state(api, did, "online"), 500,
               "Cannot move a failed/removed device to online state")
    assert (await set_state(api, did, "offline")).status == 204  # failed -> offline allowed
    assert (await set_state(api, did, "failed")).status == 204
    r = await api.delete(f"/devices/{did}")
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.text) == (204, "")
    text_error(await api.get(f"/devices/{did}"), 404, "Id not found")
    assert json_ok(await api.get(f"/nodes/{nid}"))["devices"] == []


async def test_delete_with_forceforget_body(api):
    nid, did = await node_with_device(api)
    assert (await set_state(api, did, "offline")).status == 204
    assert (await set_state(api, did, "failed")).status == 204
    text_error(await api.delete(f"/devices/{did}", raw=b"{force"), 422,
               "request unable to be parsed")
    assert json_ok(await api.get(f"/devices/{did}"))["state"] == "failed"
    assert await api.done(await api.delete(f"/devices/{did}", {"forceforget": True})) is None
    assert json_ok(await api.get(f"/nodes/{nid}"))["devices"] == []


async def test_delete_unknown(api):
    text_error(await api.delete(f"/devices/{unknown_id()}"), 404, "Id not found")


async def test_remove_device_moves_its_bricks_to_another_node(api):
    # the brick set must stay on distinct nodes: the replacement comes from the 4th node
    topo = await topology(api, nodes=4, devices=1)
    vol = await api.volume(1)
    did = vol["bricks"][0]["device"]
    spare = (set(topo["nodes"]) - {b["node"] for b in vol["bricks"]}).pop()
    assert (await set_state(api, did, "offline")).status == 204
    assert (await set_state(api, did, "failed")).status == 204
    info = json_ok(await api.get(f"/devices/{did}"))
    assert (info["state"], info["bricks"], info["storage"]["used"]) == ("failed", [], 0)
    after = json_ok(await api.get(f"/volumes/{vol['id']}"))
    nodes = {b["node"] for b in after["bricks"]}
    assert len(after["bricks"]) == 3 and len(nodes) == 3 and spare in nodes
    assert did not in {b["device"] for b in after["bricks"]}


async def test_remove_device_without_replacement(api):
    await topology(api, nodes=3, devices=2)  # other devices exist, but only on the set's nodes
    vol = await api.volume(1)
    did = vol["bricks"][0]["device"]
    assert (await set_state(api, did, "offline")).status == 204
    r = await set_state(api, did, "failed")
    # heketi's message, then why (pyketi)
    assert r.status == 500 and r.text.startswith(
        f"Unable to delete device [{did}] as no device was found to replace it: "
        "No Replacement was found for resource requested to be removed: brick "), r.text
    assert "replica 3 keeps the 3 copies of a brick on 3 different nodes" in r.text
    info = json_ok(await api.get(f"/devices/{did}"))
    assert info["state"] == "offline" and len(info["bricks"]) == 1


async def test_state_bad_requests(api):
    _, did = await node_with_device(api)
    await check_errors(api, "POST", f"/devices/{did}/state", [
        ({}, 400, "validation failed: state: cannot be blank."),
        ({"state": "up"}, 400, "validation failed: state: up is not valid state."),
        ({"state": ["online"]}, 422, "request unable to be parsed"),
    ])
    text_error(await api.post(f"/devices/{unknown_id()}/state", {"state": "offline"}), 404,
               "Id not found")


async def test_resync(api):
    _, did = await node_with_device(api)
    r = await api.get(f"/devices/{did}/resync")
    assert r.status == 202
    location = r.headers["Location"]
    assert location.startswith("/queue/")
    assert r.text == f'<a href="{location}">Accepted</a>.\n\n'
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    final = await api.wait(r)
    assert (final.status, final.text) == (204, "")
    storage = json_ok(await api.get(f"/devices/{did}"))["storage"]
    assert storage == {"total": MOCK_DEVICE_KIB, "free": MOCK_DEVICE_KIB, "used": 0}


async def test_resync_unknown(api):
    r = await api.get(f"/devices/{unknown_id()}/resync")
    text_error(r, 404, "Id not found")
    assert r.headers["Content-Type"] == TEXT_CT


async def test_tags(api):
    _, did = await node_with_device(api)
    path = f"/devices/{did}/tags"
    assert json_ok(await api.post(path, {"tags": {"a": "1"}, "change_type": "set"})) == {"a": "1"}
    r = await api.post(path, {"tags": {"b": "2"}, "change_type": "update"})
    assert json_ok(r) == {"a": "1", "b": "2"}
    assert json_ok(await api.post(path, {"tags": {"a": ""}, "change_type": "delete"})) == {"b": "2"}
    assert json_ok(await api.get(f"/devices/{did}"))["tags"] == {"b": "2"}
    await check_errors(api, "POST", path, [
        ({"tags": {"b": "x" * 65}, "change_type": "set"}, 400,
         "validation failed: tags: value of tag b: the length must be no more than 64."),
        ({"change_type": "sett"}, 400, "validation failed: change_type: must be a valid value."),
    ])
    assert json_ok(await api.get(f"/devices/{did}"))["tags"] == {"b": "2"}
    text_error(await api.post(f"/devices/{unknown_id()}/tags",
                              {"tags": {}, "change_type": "set"}), 404, "Id not found")
