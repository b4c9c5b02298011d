async def test_volume_lifecycle(api):
    topo = await api.topology(nodes=3, devices=1)
    vol = await api.volume(10)
    assert vol["size"] == 10
    assert len(vol["bricks"]) == 3
    r = await api.get(f"/devices/{topo['devices'][0]}")
    assert r.json()["storage"]["free"] == 513748992
    exp = await api.done(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 5}))
    assert exp["size"] == 15
    assert await api.done(await api.delete(f"/volumes/{vol['id']}")) is None
    r = await api.get(f"/devices/{topo['devices'][0]}")
    assert r.json()["storage"]["free"] == 524288000
