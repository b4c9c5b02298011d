"""End to end over SSH: a pyketi app whose ``ssh`` executor talks to a fake node
(``tests/fakenode.py``) that records every argv it receives (issue 8, items 1-3).

Hostile requests are refused before anything reaches the node; a benign volume
create reaches it with each option as separate argv tokens.
"""

from __future__ import annotations

import pytest

from fakenode import FakeNode
from pyketi.executors.factory import make_executor

G = ["gluster", "--mode=script", "--timeout=600"]
ISSUE_OPTIONS = ["performance.readdir-ahead --log-file=/etc/cron.d/x",
                 "--xml --remote-host=evil.example"]


@pytest.fixture
def fake_node(tmp_path):
    node = FakeNode(tmp_path).start()
    yield node
    node.stop()


@pytest.fixture
async def ssh_api(make_api, sqlite_url, fake_node):
    executor = make_executor({"executor": "ssh", "sshexec": fake_node.sshexec()}, env={})
    return await make_api(sqlite_url, executor=executor)


async def one_node(api) -> tuple[str, str]:
    cid = await api.cluster()
    body = {"zone": 1, "cluster": cid,
            "hostnames": {"manage": ["127.0.0.1"], "storage": ["127.0.0.1"]}}
    return cid, (await api.done(await api.post("/nodes", body)))["id"]


async def one_node_with_device(api) -> tuple[str, str]:
    cid, nid = await one_node(api)
    await api.done(await api.post("/devices", {"node": nid, "name": "/dev/sdb"}))
    return cid, nid


async def test_hostile_requests_never_reach_the_node(ssh_api, fake_node):
    api = ssh_api
    _, nid = await one_node_with_device(api)
    before = fake_node.lines()

    hostile = [
        ("user", "/volumes", {"size": 1, "durability": {"type": "none"},
                              "glustervolumeoptions": ISSUE_OPTIONS}),
        ("user", "/volumes", {"size": 1, "durability": {"type": "none"},
                              "glustervolumeoptions": ["performance.cache-size --xml"]}),
        ("user", "/volumes", {"size": 1, "name": "--version", "durability": {"type": "none"}}),
        ("admin", "/devices", {"node": nid, "name": "/dev/../etc/shadow", "destroydata": True}),
        ("admin", "/devices", {"node": nid, "name": "/dev/shm/x", "destroydata": True}),
    ]
    for role, path, body in hostile:
        r = await api.post(path, body, role=role)
        assert r.status == 400, (path, body, r.status, r.text)
        assert r.text.startswith("validation failed: "), r.text
    assert fake_node.lines() == before
    assert not any(w in line for line in fake_node.lines()
                   for w in ("log-file", "remote-host", "--version", "shadow", "/dev/shm"))
    assert fake_node.errors == []


async def test_benign_volume_create_reaches_the_node_as_separate_tokens(ssh_api, fake_node):
    api = ssh_api
    await one_node_with_device(api)
    options = ["performance.rda-cache-limit 10MB", "server.tcp-user-timeout 42"]
    vol = await api.done(await api.post("/volumes", {
        "size": 1, "durability": {"type": "none"}, "glustervolumeoptions": options},
        role="user"), role="user")
    name, argvs = vol["name"], fake_node.argvs()
    assert ["/usr/sbin/lvm", "pvcreate", "-qq", "--metadatasize=128M", "--dataalignment=256K",
            "--", "/dev/sdb"] in argvs
    create = next(a for a in argvs if a[3:5] == ["volume", "create"])
    assert create[:6] == [*G, "volume", "create", name]
    [brick] = create[6:]
    assert brick.startswith("127.0.0.1:/var/lib/heketi/mounts/vg_")
    assert [*G, "volume", "set", name, "performance.rda-cache-limit", "10MB"] in argvs
    assert [*G, "volume", "set", name, "server.tcp-user-timeout", "42"] in argvs
    assert [*G, "volume", "set", name, "user.heketi.id", vol["id"]] in argvs
    assert argvs[-1] == [*G, "volume", "start", name]
    lvcreate = next(a for a in argvs if "lvcreate" in a)
    assert lvcreate[-2] == "--" and lvcreate[-1].startswith("vg_")
    assert fake_node.errors == []


async def test_a_failing_command_ends_the_batch_and_its_error_reaches_the_client(
        ssh_api, fake_node):
    api = ssh_api
    cid = await api.cluster()
    body = {"zone": 1, "cluster": cid,
            "hostnames": {"manage": ["127.0.0.1"], "storage": ["127.0.0.1"]}}
    nid = (await api.done(await api.post("/nodes", body)))["id"]
    fake_node.on(r"pvcreate .* /dev/sdc$", exit_status=5,
                 stderr="  Can't open /dev/sdc exclusively.  Mounted filesystem?\n")
    r = await api.post("/devices", {"node": nid, "name": "/dev/sdc"})
    final = await api.wait(r)
    assert final.status == 500
    assert "Can't open /dev/sdc exclusively.  Mounted filesystem?" in final.text
    lines = fake_node.lines()
    assert any(line.endswith("pvcreate -qq --metadatasize=128M --dataalignment=256K -- /dev/sdc")
               for line in lines)
    assert not any("vgcreate" in line for line in lines)  # the batch ended at pvcreate
    assert fake_node.errors == []


async def test_a_half_made_volume_is_undone_once_on_the_node(make_api, sqlite_url, fake_node):
    """``volume create`` succeeded, a later command of the batch failed: the operation's
    undo stops and deletes the volume (once) and removes its brick; nothing is left."""
    executor = make_executor({"executor": "ssh", "sshexec": fake_node.sshexec()}, env={})
    api = await make_api(sqlite_url, executor=executor, volume_create_retries=0)
    await one_node_with_device(api)
    fake_node.on(r"volume set \S+ server.tcp-user-timeout", exit_status=1,
                 stderr="volume set: failed: option server.tcp-user-timeout is broken\n")
    r = await api.post("/volumes", {"size": 1, "durability": {"type": "none"},
                                    "glustervolumeoptions": ["server.tcp-user-timeout 42"]})
    final = await api.wait(r)
    assert final.status == 500 and "server.tcp-user-timeout is broken" in final.text
    argvs = fake_node.argvs()
    name = next(a for a in argvs if a[3:5] == ["volume", "create"])[5]
    assert argvs.count([*G, "volume", "delete", name]) == 1
    assert any("lvremove" in a for a in argvs)
    assert (await api.get("/volumes")).json()["volumes"] == []


async def test_a_volume_name_taken_on_the_node_is_not_deleted(make_api, sqlite_url, fake_node):
    executor = make_executor({"executor": "ssh", "sshexec": fake_node.sshexec()}, env={})
    api = await make_api(sqlite_url, executor=executor, volume_create_retries=0)
    await one_node_with_device(api)
    fake_node.on(r"volume create taken ", exit_status=1,
                 stderr="volume create: taken: failed: Volume taken already exists\n")
    r = await api.post("/volumes", {"size": 1, "name": "taken", "durability": {"type": "none"}})
    final = await api.wait(r)
    assert final.status == 500 and "already exists" in final.text
    argvs = fake_node.argvs()
    assert [*G, "volume", "delete", "taken"] not in argvs
    assert any("lvremove" in a for a in argvs)          # its own brick is removed


async def test_a_failed_brick_create_is_undone_once(make_api, sqlite_url, fake_node):
    executor = make_executor({"executor": "ssh", "sshexec": fake_node.sshexec()}, env={})
    api = await make_api(sqlite_url, executor=executor, volume_create_retries=0)
    await one_node_with_device(api)
    fake_node.on(r"mkfs\.xfs ", exit_status=1, stderr="mkfs.xfs: cannot open\n")
    final = await api.wait(await api.post("/volumes", {"size": 1, "durability": {"type": "none"}}))
    assert final.status == 500 and "mkfs.xfs: cannot open" in final.text
    lines = fake_node.lines()
    lvcreate = [line for line in lines if " lvcreate " in line]
    tp_removed = [line for line in lines if " lvremove " in line and "/tp_" in line]
    assert len(lvcreate) >= 1 and len(tp_removed) == 1      # made once, removed once
    assert not any("volume create" in line for line in lines)


async def test_a_device_that_is_someone_elses_pv_is_left_alone(ssh_api, fake_node):
    api = ssh_api
    _, nid = await one_node(api)
    fake_node.on(r"pvcreate .* /dev/sdd$", exit_status=5,
                 stderr='  Can\'t initialize physical volume "/dev/sdd" without -ff\n')
    final = await api.wait(await api.post("/devices", {"node": nid, "name": "/dev/sdd"}))
    assert final.status == 500
    assert not any("pvremove" in line or "vgremove" in line for line in fake_node.lines())
