"""A step that cannot be undone once it took effect (add-brick, replace-brick), when
the node did the work but pyketi saw an error (a command timeout, a dropped
connection): the operation is finished, not undone.  Undoing would unmount bricks
that serve the volume ("target is busy" on a real node, the strict mock here) and
leave the operation ``failed`` for ever (issue 12: an expand killed after its
add-brick stayed failed)."""

from apihelp import json_ok, topology
from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor


async def test_expand_whose_add_brick_reported_an_error_but_happened_is_finished(make_api,
                                                                                  db_url):
    mock = MockExecutor(strict=True)
    ex = FaultExecutor(mock, [{"call": "volume_expand", "nth": 1, "action": "fail_after",
                               "message": "SSH command timeout"}])
    api = await make_api(db_url, executor=ex)
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 2})
    final = await api.wait(r)
    assert (final.status, final.headers["Location"]) == (303, f"/volumes/{vol['id']}")
    after = json_ok(await api.get(f"/volumes/{vol['id']}"))
    assert after["size"] == 3 and len(after["bricks"]) == 6
    gluster = next(iter(mock.volumes().values()))["bricks"]
    assert all(any(spec.endswith(b["path"]) for spec in gluster) for b in after["bricks"])
    assert (await api.get("/operations")).json()["total"] == 0
    assert (await api.get("/db/check")).json()["totalinconsistencies"] == 0


async def test_expand_whose_add_brick_really_failed_is_undone(make_api, db_url):
    mock = MockExecutor(strict=True)
    ex = FaultExecutor(mock, [{"call": "volume_expand", "nth": 1, "action": "fail"}])
    api = await make_api(db_url, executor=ex)
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    final = await api.wait(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 2}))
    assert final.status == 500 and "injected failure" in final.text
    assert json_ok(await api.get(f"/volumes/{vol['id']}")) == vol
    assert sum(len(mock.bricks_on(h)) for h in mock.state()["hosts"]) == 3
    assert (await api.get("/operations")).json()["total"] == 0
