"""The async queue, /queue/{id} (spec §1.2, §1.3, §10.1)."""

from apihelp import QUEUE_RE, accepted, json_ok, node_body, text_error, topology, unknown_id

R3 = {"type": "replicate", "replicate": {"replica": 3}}


async def test_pending_then_303_then_gone(gated_api):
    api, executor = await gated_api("volume_create")
    await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": R3})
    location = accepted(r)
    await executor.reached()
    for _ in range(2):  # reading a pending entry does not consume it
        poll = await api.get(location)
        assert (poll.status, poll.text, poll.headers.get("X-Pending")) == (200, "", "true")
    # the queue id is a fresh id, not the pending operation's
    ops = json_ok(await api.get("/operations/pending"))["pendingoperations"]
    assert len(ops) == 1 and QUEUE_RE.match(location)
    assert ops[0]["id"] != location[len("/queue/"):]
    executor.release()
    final = await api.wait(r)
    vid = final.headers["Location"][len("/volumes/"):]
    assert final.status == 303 and final.headers["Location"] == f"/volumes/{vid}"
    assert final.text == f'<a href="/volumes/{vid}">See Other</a>.\n\n'
    assert final.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "X-Pending" not in final.headers
    text_error(await api.get(location), 404, "Id not found")
    assert json_ok(await api.get(f"/volumes/{vid}"))["id"] == vid


async def test_204_and_500_are_consumed_too(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    refused = f"Node must be offline before remove operation is performed, node:{nid}"
    for wanted, status, text in [("failed", 500, refused + "\n"), ("offline", 204, "")]:
        r = await api.post(f"/nodes/{nid}/state", {"state": wanted})
        location = accepted(r)
        final = await api.wait(r)
        assert (final.status, final.text) == (status, text)
        assert "X-Pending" not in final.headers and "Location" not in final.headers
        if status == 500:
            text_error(final, 500, refused)  # plain-text error, as Go's http.Error
        text_error(await api.get(location), 404, "Id not found")


async def test_unknown_and_malformed_queue_ids(api):
    text_error(await api.get(f"/queue/{unknown_id()}"), 404, "Id not found")
    text_error(await api.get("/queue/xyz"), 404, "Invalid path or request")
    r = await api.post(f"/queue/{unknown_id()}", {})
    assert (r.status, r.text) == (405, "")


async def test_every_accepted_request_gets_its_own_entry(api):
    topo = await topology(api, nodes=3, devices=1)
    replies = [await api.post("/volumes", {"size": 1, "durability": R3}) for _ in range(3)]
    locations = [accepted(r) for r in replies]
    assert len(set(locations)) == 3
    finals = [await api.wait(r) for r in replies]
    assert [f.status for f in finals] == [303] * 3
    assert len({f.headers["Location"] for f in finals}) == 3
    info = json_ok(await api.get(f"/clusters/{topo['cluster']}"))
    assert sorted(info["volumes"]) == sorted(f.headers["Location"][9:] for f in finals)


async def test_throttling_429_past_max_inflight_operations(gated_api):
    api, executor = await gated_api("volume_expand", max_inflight_operations=1)
    topo = await topology(api, nodes=3, devices=2)
    vol = await api.volume(1)
    other = await api.volume(1)
    running = await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 1})
    accepted(running)
    await executor.reached()
    busy = "Server busy. Retry operation later."
    for method, path, body in [
            ("POST", "/volumes", {"size": 1}),
            ("POST", f"/volumes/{other['id']}/expand", {"expand_size": 1}),
            ("DELETE", f"/volumes/{other['id']}", None),
            ("POST", f"/volumes/{other['id']}/clone", {}),
            ("POST", f"/devices/{topo['devices'][0]}/state", {"state": "failed"}),
            ("POST", f"/nodes/{topo['nodes'][0]}/state", {"state": "failed"})]:
        r = await api.request(method, path, body)
        text_error(r, 429, busy)
        assert "Retry-After" not in r.headers
    # never throttled: online/offline state changes, node and device adds
    offline = await api.post(f"/devices/{topo['devices'][0]}/state", {"state": "offline"})
    assert (await api.wait(offline)).status == 204
    online = await api.post(f"/devices/{topo['devices'][0]}/state", {"state": "online"})
    assert (await api.wait(online)).status == 204
    node = await api.post("/nodes", node_body(topo["cluster"], 7))
    assert (await api.wait(node)).status == 303
    assert json_ok(await api.get("/operations"))["in_flight"] == 1
    assert json_ok(await api.get("/volumes")) == {"volumes": sorted([vol["id"], other["id"]])}
    executor.release()
    assert (await api.done(running))["size"] == 2
    assert (await api.wait(await api.post("/volumes", {"size": 1}))).status == 303
