"""Device and node removal (state failed): bricks move to other devices, also
when the old disk or node is dead; heal info is checked first and shown as the
operation's progress; a removal with no replacement says why and moves nothing."""

import asyncio
import logging

from apihelp import GateExecutor
from pyketi.executors.doubles.mock import MockExecutor


async def _state(api, path, state):
    return await api.wait(await api.post(f"{path}/state", {"state": state}))


async def test_device_remove_moves_bricks_then_delete(make_api, db_url):
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    topo = await api.topology(nodes=4, devices=1)
    vol = await api.volume(2)
    victim = vol["bricks"][0]["device"]
    victim_node = vol["bricks"][0]["node"]
    # online -> failed is refused: must be offline first
    r = await _state(api, f"/devices/{victim}", "failed")
    assert r.status == 500
    assert r.text == f"Device must be offline before remove operation is performed, device:{victim}\n"
    assert (await _state(api, f"/devices/{victim}", "offline")).status == 204
    assert (await _state(api, f"/devices/{victim}", "failed")).status == 204

    dev = (await api.get(f"/devices/{victim}")).json()
    assert dev["state"] == "failed" and dev["bricks"] == []
    assert dev["storage"]["free"] == dev["storage"]["total"]
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert len(info["bricks"]) == 3
    assert victim not in {b["device"] for b in info["bricks"]}
    assert len({b["node"] for b in info["bricks"]}) == 3
    spare = next(n for n in topo["nodes"] if n not in {b["node"] for b in vol["bricks"]})
    assert spare in {b["node"] for b in info["bricks"]}
    # the gluster volume on the nodes now lists the new brick, not the old one
    gluster = next(iter(ex.volumes().values()))
    new_brick = next(b for b in info["bricks"] if b["node"] == spare)
    assert any(spec.endswith(new_brick["path"]) for spec in gluster["bricks"])
    assert not any(vol["bricks"][0]["path"] in spec for spec in gluster["bricks"])
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0
    # a failed, empty device can be deleted; the node then too once empty
    assert await api.done(await api.delete(f"/devices/{victim}")) is None
    assert (await api.get(f"/devices/{victim}")).status == 404
    assert (await _state(api, f"/nodes/{victim_node}", "offline")).status == 204
    assert await api.done(await api.delete(f"/nodes/{victim_node}")) is None


async def test_device_remove_works_when_the_old_node_is_dead(make_api, db_url):
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    node = (await api.get(f"/nodes/{victim['node']}")).json()
    ex.unreachable_hosts.add(node["hostnames"]["manage"][0])  # the disk's node died
    assert (await _state(api, f"/devices/{victim['device']}", "offline")).status == 204
    assert (await _state(api, f"/devices/{victim['device']}", "failed")).status == 204
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert victim["device"] not in {b["device"] for b in info["bricks"]}


async def test_remove_without_replacement_says_why_and_changes_nothing(api):
    topo = await api.topology(nodes=3, devices=1)
    vol = await api.volume(1)
    victim = topo["devices"][0]
    assert (await _state(api, f"/devices/{victim}", "offline")).status == 204
    r = await _state(api, f"/devices/{victim}", "failed")
    brick = next(b for b in vol["bricks"] if b["device"] == victim)
    assert r.status == 500
    assert r.text == (f"Unable to delete device [{victim}] as no device was found to replace "
                      "it: No Replacement was found for resource requested to be removed: "
                      f"brick {brick['id']} of volume {vol['name']} cannot move without "
                      "losing durability: replica 3 keeps the 3 copies of a brick on 3 "
                      "different nodes and no other node can take this copy (online devices "
                      "ruled out: 2 on a node that holds a copy already or is being removed); "
                      "add a node or a device, or bring one online\n")
    dev = (await api.get(f"/devices/{victim}")).json()
    assert dev["state"] == "offline" and len(dev["bricks"]) == 1
    assert (await api.get(f"/volumes/{vol['id']}")).json()["bricks"] == vol["bricks"]


async def test_node_remove_moves_every_brick_off_the_node(api):
    topo = await api.topology(nodes=4, devices=2)
    vol = await api.volume(4)
    node = vol["bricks"][0]["node"]
    assert (await _state(api, f"/nodes/{node}", "offline")).status == 204
    assert (await _state(api, f"/nodes/{node}", "failed")).status == 204
    info = (await api.get(f"/nodes/{node}")).json()
    assert info["state"] == "failed"
    assert all(d["state"] == "failed" and d["bricks"] == [] for d in info["devices"])
    moved = (await api.get(f"/volumes/{vol['id']}")).json()
    assert node not in {b["node"] for b in moved["bricks"]}
    r = await _state(api, f"/nodes/{node}", "online")
    assert r.status == 500 and r.text == "Cannot move a failed/removed node to online state\n"
    assert len(topo["nodes"]) == 4


async def test_node_remove_of_a_dead_node_when_replace_brick_reports_an_error(make_api, db_url):
    """A replace-brick whose old brick is on a dead node may fail or time out and
    still have happened: the removal goes on when gluster lists the new brick
    (no brick left on the dead node, nothing pending, the volume not busy)."""
    from pyketi.executors.doubles.fault import FaultExecutor

    mock = MockExecutor()
    ex = FaultExecutor(mock, [{"call": "volume_replace_brick", "nth": 0,
                               "action": "fail_after", "message": "SSH command timeout"}])
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    dead = vol["bricks"][0]["node"]
    host = (await api.get(f"/nodes/{dead}")).json()["hostnames"]["manage"][0]
    mock.unreachable_hosts.add(host)
    assert (await _state(api, f"/nodes/{dead}", "offline")).status == 204
    assert (await _state(api, f"/nodes/{dead}", "failed")).status == 204
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert dead not in {b["node"] for b in info["bricks"]} and len(info["bricks"]) == 3
    gluster = next(iter(mock.volumes().values()))["bricks"]
    assert not any(host in spec for spec in gluster)
    # only the destroy of the old brick, left on the dead node, waits for it (the volume
    # is not held by it)
    pending = (await api.get("/operations/pending")).json()["pendingoperations"]
    assert [(p["type_name"], p["status"]) for p in pending] == [("leftover-bricks", "failed")]
    assert await api.done(await api.delete(f"/volumes/{vol['id']}")) is None


async def test_replace_brick_that_really_failed_is_undone(make_api, db_url):
    from pyketi.executors.doubles.fault import FaultExecutor

    mock = MockExecutor()
    ex = FaultExecutor(mock, [{"call": "volume_replace_brick", "nth": 1, "action": "fail"}])
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    assert (await _state(api, f"/devices/{victim['device']}", "offline")).status == 204
    r = await _state(api, f"/devices/{victim['device']}", "failed")
    assert r.status == 500 and "injected failure" in r.text
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert {b["id"] for b in info["bricks"]} == {b["id"] for b in vol["bricks"]}
    spare = [h for h in mock.state()["hosts"] if not mock.bricks_on(h)]
    assert len(spare) == 1  # the new brick was destroyed again
    assert await api.done(await api.delete(f"/volumes/{vol['id']}")) is None


async def _node_host(api, node_id: str) -> tuple[str, str]:
    info = (await api.get(f"/nodes/{node_id}")).json()
    return info["hostnames"]["manage"][0], info["hostnames"]["storage"][0]


async def test_device_remove_of_a_dead_node_checks_heal_info_and_shows_progress(
        make_api, db_url, caplog):
    """The node of the device is dead: heal info (asked on a live node) lists its
    brick as down and the two other copies online with entries still to heal; the
    move goes on, and while it runs ``/operations/pending`` (and the log) say which
    brick of the device is moving, the heal state and the step."""
    ex = GateExecutor("volume_replace_brick")
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    manage, storage = await _node_host(api, victim["node"])
    ex.unreachable_hosts.add(manage)  # the node is powered off
    peers = [b for b in vol["bricks"] if b["id"] != victim["id"]]
    for i, b in enumerate(peers):
        ex.heal_entries[f"{(await _node_host(api, b['node']))[1]}:{b['path']}"] = 3 + i
    assert (await _state(api, f"/devices/{victim['device']}", "offline")).status == 204
    caplog.set_level(logging.INFO, logger="pyketi.operations")
    reply = await api.post(f"/devices/{victim['device']}/state", {"state": "failed"})
    await ex.reached()
    [op] = (await api.get("/operations/pending")).json()["pendingoperations"]
    assert (op["type_name"], op["sub_status"]) == ("evict-brick", "in-flight")
    heal = (f"heal info of {vol['name']} before replacing brick {victim['id']}: 2 of 2 other "
            "copies online (need 2), 7 entries to heal (")
    assert op["progress"].startswith(
        f"device remove: device {victim['device']}, brick 1 of 1 ({victim['id']}); {heal}"), \
        op["progress"]
    assert f"old brick on {storage} Transport endpoint is not connected)" in op["progress"]
    assert op["progress"].endswith("; step 3/4 brick_replace on -"), op["progress"]
    details = (await api.get(f"/operations/pending/{op['id']}")).json()
    assert details["progress"] == op["progress"]
    assert any(heal in r.getMessage() for r in caplog.records)  # the log line too
    ex.release()
    assert (await api.wait(reply)).status == 204
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert victim["node"] not in {b["node"] for b in info["bricks"]}
    # the old brick's destroy waits for its node (see the test of leftover bricks below)
    assert await _pending(api) == [("leftover-bricks", "failed")]
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0
    # the dead device is forgotten: nothing in the database refers to it any more
    r = await api.wait(await api.request("DELETE", f"/devices/{victim['device']}",
                                         {"forceforget": True}))
    assert r.status == 204, r.text
    assert victim["device"] not in (await api.get("/topology")).text
    assert victim["device"] not in (await api.get("/db/dump")).text
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0


async def test_heal_check_refuses_without_quorum_and_changes_nothing(make_api, db_url):
    """Two of the three copies are on dead nodes: replacing one would leave one
    copy as the only source; refused (heketi's message with the heal state), the
    new brick made for it is gone again and the volume unchanged.  With
    ``healcheck: disable`` the operator can force it."""
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim, other = vol["bricks"][0], vol["bricks"][1]
    for b in (victim, other):
        ex.unreachable_hosts.add((await _node_host(api, b["node"]))[0])
    assert (await _state(api, f"/devices/{victim['device']}", "offline")).status == 204
    r = await _state(api, f"/devices/{victim['device']}", "failed")
    assert r.status == 500
    assert r.text.startswith(f"Cannot replace brick {victim['id']} as only 1 of 2 required "
                             f"peer bricks are online (heal info of {vol['name']}"), r.text
    assert (await api.get(f"/volumes/{vol['id']}")).json()["bricks"] == vol["bricks"]
    dev = (await api.get(f"/devices/{victim['device']}")).json()
    assert dev["state"] == "offline" and len(dev["bricks"]) == 1
    holders = {(await _node_host(api, b["node"]))[0] for b in vol["bricks"]}
    spare = [h for h in ex.state()["hosts"] if h not in holders]
    assert len(spare) == 1 and ex.bricks_on(spare[0]) == {}, "replacement brick left behind"
    assert (await api.get("/operations/pending")).json()["pendingoperations"] == []
    # forced: heal check disabled
    forced = await api.wait(await api.post(f"/devices/{victim['device']}/state",
                                           {"state": "failed", "healcheck": "disable"}))
    assert forced.status == 204, forced.text
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert victim["id"] not in {b["id"] for b in info["bricks"]}


async def test_heal_check_refuses_to_replace_the_source_of_a_heal(make_api, db_url):
    """The old brick is alive and holds data the other copies still need: refused."""
    ex = MockExecutor()
    api = await make_api(db_url, executor=ex)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    ex.heal_entries[f"{(await _node_host(api, victim['node']))[1]}:{victim['path']}"] = 12
    r = await api.wait(await api.post(f"/bricks/to-evict/{victim['id']}", {}))
    assert r.status == 500
    assert r.text.startswith(f"Cannot replace brick {victim['id']} as it is source brick "
                             "for data to be healed"), r.text
    assert (await api.get(f"/volumes/{vol['id']}")).json()["bricks"] == vol["bricks"]


async def test_a_removal_with_one_brick_without_replacement_moves_none(api):
    """Two volumes have a brick on the device; only the first could move (the
    second keeps strict zones and the spare node is in a zone of its set): the
    removal is refused before anything moves, naming the brick that cannot."""
    cid = await api.cluster()
    nodes = [await api.node(cid, i, zone=z) for i, z in ((1, 1), (2, 2), (3, 3), (4, 2))]
    devices = [await api.device(n) for n in nodes]
    assert (await _state(api, f"/devices/{devices[3]}", "offline")).status == 204
    plain = await api.volume(1)
    strict = await api.volume(1, gid=0, glustervolumeoptions=["user.heketi.zone-checking strict"])
    assert (await _state(api, f"/devices/{devices[3]}", "online")).status == 204
    device = devices[0]
    assert (await _state(api, f"/devices/{device}", "offline")).status == 204
    r = await _state(api, f"/devices/{device}", "failed")
    assert r.status == 500 and f"of volume {strict['name']} cannot move" in r.text, r.text
    assert "1 in a zone that holds a copy (strict zone checking)" in r.text, r.text
    for vol in (plain, strict):
        assert (await api.get(f"/volumes/{vol['id']}")).json()["bricks"] == vol["bricks"]
    # a node removal is checked for all its devices before the first brick moves
    assert (await _state(api, f"/devices/{device}", "online")).status == 204
    assert (await _state(api, f"/nodes/{nodes[0]}", "offline")).status == 204
    r = await _state(api, f"/nodes/{nodes[0]}", "failed")
    assert r.status == 500 and r.text.startswith(
        f"Unable to remove node [{nodes[0]}] as no device was found to replace device "
        f"[{device}]: brick "), r.text
    for vol in (plain, strict):
        assert (await api.get(f"/volumes/{vol['id']}")).json()["bricks"] == vol["bricks"]
    assert (await api.get(f"/nodes/{nodes[0]}")).json()["state"] == "offline"


async def test_removal_progress_is_shown_by_every_instance_on_the_database(make_api, db_url):
    """Two servers on one database: the one running a device removal writes its progress
    to the operation's row (which brick, heal info, step), so the other one shows the
    same progress; once the removal is done neither lists anything."""
    ex = GateExecutor("volume_replace_brick")
    runs = await make_api(db_url, executor=ex)
    other = await make_api(db_url, executor=ex)  # the same (mock) nodes
    await runs.topology(nodes=4, devices=1)
    vol = await other.volume(1)
    victim = vol["bricks"][0]
    assert (await _state(runs, f"/devices/{victim['device']}", "offline")).status == 204
    reply = await runs.post(f"/devices/{victim['device']}/state", {"state": "failed"})
    await ex.reached()
    [here] = (await runs.get("/operations/pending")).json()["pendingoperations"]
    assert here["progress"].startswith(f"device remove: device {victim['device']}, brick 1 "
                                       f"of 1 ({victim['id']}); heal info of {vol['name']} ")
    assert here["progress"].endswith("; step 3/4 brick_replace on -"), here["progress"]

    async def seen_by_other() -> dict:
        for _ in range(100):  # written right after each report, by a task: a moment
            [op] = (await other.get("/operations/pending")).json()["pendingoperations"]
            if op.get("progress") == here["progress"]:
                return op
            await asyncio.sleep(0.05)
        raise AssertionError(f"{op} never showed {here['progress']!r}")
    op = await seen_by_other()
    assert (op["id"], op["type_name"], op["sub_status"]) == (here["id"], "evict-brick", "")
    details = (await other.get(f"/operations/pending/{op['id']}")).json()
    assert details["progress"] == here["progress"]
    ex.release()
    assert (await runs.wait(reply)).status == 204
    for api in (runs, other):
        assert (await api.get("/operations/pending")).json()["pendingoperations"] == []


async def _pending(api) -> list[tuple[str, str]]:
    ops = (await api.get("/operations/pending")).json()["pendingoperations"]
    return [(op["type_name"], op["status"]) for op in ops]


async def test_brick_left_on_a_dead_node_is_destroyed_by_the_cleaner_when_it_is_back(
        make_api, db_url):
    """Device remove with its node off: the old brick cannot be destroyed then and stays
    on the node.  The removal finishes (the volume free for other changes); the brick's
    destroy waits, as a failed ``leftover-bricks`` operation, and the background cleaner
    destroys it once the node answers again - no admin has to find it."""
    mock = MockExecutor()
    api = await make_api(db_url, executor=mock, operation_lease_seconds=1,
                         start_time_background_cleaner=0)  # a cleaner look every 1 s
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    host, _ = await _node_host(api, victim["node"])
    mock.unreachable_hosts.add(host)  # powered off
    assert (await _state(api, f"/devices/{victim['device']}", "offline")).status == 204
    assert (await _state(api, f"/devices/{victim['device']}", "failed")).status == 204
    info = (await api.get(f"/volumes/{vol['id']}")).json()
    assert victim["id"] not in {b["id"] for b in info["bricks"]}
    assert victim["path"] in mock.bricks_on(host)  # left there
    await asyncio.sleep(3)  # a few cleaner rounds while the node is still off
    assert await _pending(api) == [("leftover-bricks", "failed")]
    details = (await api.get("/operations/pending")).json()["pendingoperations"][0]
    assert victim["id"] in (await api.get(f"/operations/pending/{details['id']}")).text
    # the volume is not held meanwhile: an expand goes through
    await api.done(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 1}))

    mock.unreachable_hosts.discard(host)  # back
    for _ in range(100):
        if not await _pending(api):
            break
        await asyncio.sleep(0.1)
    assert await _pending(api) == []
    assert mock.bricks_on(host) == {}
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0


async def test_a_deleted_node_has_no_leftover_destroy_waiting_for_it(make_api, db_url, caplog):
    """The node never comes back and is deleted from pyketi: the destroy waiting for it
    is dropped (said in the log), nothing stays pending."""
    mock = MockExecutor()
    api = await make_api(db_url, executor=mock)
    await api.topology(nodes=4, devices=1)
    vol = await api.volume(1)
    victim = vol["bricks"][0]
    host, _ = await _node_host(api, victim["node"])
    mock.unreachable_hosts.add(host)
    assert (await _state(api, f"/nodes/{victim['node']}", "offline")).status == 204
    assert (await _state(api, f"/nodes/{victim['node']}", "failed")).status == 204
    assert await _pending(api) == [("leftover-bricks", "failed")]
    r = await api.wait(await api.request("DELETE", f"/devices/{victim['device']}",
                                         {"forceforget": True}))
    assert r.status == 204, r.text
    assert (await api.wait(await api.delete(f"/nodes/{victim['node']}"))).status == 204
    assert await _pending(api) == []
    assert f"node {host} deleted: brick(s) {victim['id']} left on it" in caplog.text
