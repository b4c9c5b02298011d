"""Device and node removal (state failed): bricks move to other devices, also
when the old disk or node is dead; a removal with no replacement says why."""

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
    assert r.status == 500
    assert r.text == (f"Unable to delete device [{victim}] as no device was found to replace "
                      "it: No Replacement was found for resource requested to be removed\n")
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
    assert (await api.get("/operations/pending")).json().get("pendingoperations", []) == []
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
