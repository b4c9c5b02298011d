"""MockExecutor: heketi-mock answers plus a fake node state tests can inspect."""

from __future__ import annotations

import json
import os

import pytest

from pyketi.executors.base import BrickRequest, ExecutorError, NodeUnreachable, VolumeRequest
from pyketi.executors.doubles.mock import MockExecutor

GIB = 1024 * 1024
DEVS = {f"node{i}": f"{i}" * 32 for i in range(1, 4)}
STORAGE = {f"node{i}": f"10.0.0.{i}" for i in range(1, 4)}


def bid(node: str, n: int = 0) -> str:
    return f"{node[-1]}{n:031x}"


def brick_req(node: str, n: int = 0, size: int = GIB, **kw) -> BrickRequest:
    return BrickRequest(id=bid(node, n), device_id=DEVS[node], node_storage=STORAGE[node],
                        size_kib=size, tp_size_kib=size, pool_metadata_kib=8192, **kw)


def vol_req(name: str = "vol1", n: int = 0, **kw) -> VolumeRequest:
    bricks = [(STORAGE[node], brick_req(node, n).brick_path) for node in DEVS]
    return VolumeRequest(name=name, id="e" * 32, durability="replicate", replica=3,
                         bricks=bricks, **kw)


async def cluster(mock: MockExecutor, n: int = 0, volume: str | None = "vol1") -> None:
    """What node add + device add + volume create do: probe, setup, bricks, volume."""
    for node in DEVS:
        await mock.glusterd_check(node)
        if node != "node1":
            await mock.peer_probe("node1", STORAGE[node])
        if DEVS[node] not in mock.vgs_on(node):
            await mock.device_setup(node, "/dev/sdb", DEVS[node])
        await mock.bricks_create(node, [brick_req(node, n)])
    if volume:
        await mock.volume_create("node1", vol_req(volume, n, options=["", "a.b 1", ""]))


async def test_device_size_default_env_and_arg(monkeypatch):
    monkeypatch.delenv("HEKETI_MOCK_DEVICE_SIZE_GB", raising=False)
    info = await MockExecutor().device_setup("node1", "/dev/sdb", DEVS["node1"])
    assert (info.total, info.free, info.used, info.extent_size) == (524288000, 524288000, 0, 4096)
    assert (info.pv_uuid, info.paths) == ("", [])
    monkeypatch.setenv("HEKETI_MOCK_DEVICE_SIZE_GB", "10")
    assert (await MockExecutor().device_setup("n", "/dev/sdb", DEVS["node1"])).total == 10 * GIB
    assert (await MockExecutor(device_size_gib=2).device_setup(
        "n", "/dev/sdb", DEVS["node1"])).total == 2 * GIB


async def test_node_state_after_create_and_destroy():
    mock = MockExecutor()
    await cluster(mock)
    path = brick_req("node2").brick_path
    assert list(mock.bricks_on("node2")) == [path]
    assert mock.bricks_on("node2")[path]["lv"] == f"brick_{bid('node2')}"
    assert mock.peers_of("node1") == ["10.0.0.2", "10.0.0.3"]
    vol = mock.volumes()["vol1"]
    assert vol["bricks"] == [f"{STORAGE[n]}:{brick_req(n).brick_path}" for n in DEVS]
    assert vol["options"] == {"a.b": "1", "user.heketi.id": "e" * 32} and vol["started"]
    used = (await mock.device_info("node2", "/dev/sdb", DEVS["node2"])).used
    assert used == GIB + 8192

    await mock.volume_destroy("node3", "vol1")  # any node of the pool
    assert mock.volumes() == {}
    assert await mock.bricks_destroy("node2", [brick_req("node2")]) == [True]
    assert mock.bricks_on("node2") == {}
    assert (await mock.device_info("node2", "/dev/sdb", DEVS["node2"])).used == 0
    await mock.device_teardown("node2", "/dev/sdb", DEVS["node2"])
    assert mock.vgs_on("node2") == {}


async def test_info_returns_the_volume_with_bricks():
    mock = MockExecutor()
    await cluster(mock)
    info = await mock.volume_info("node2", "vol1")
    assert (info.name, info.status, info.type_str, info.brick_count) == ("vol1", 1, "Replicate", 3)
    assert [b.name for b in info.bricks] == mock.volumes()["vol1"]["bricks"]
    assert info.options["user.heketi.id"] == "e" * 32


async def test_creating_existing_things_fails_like_a_node():
    mock = MockExecutor()
    await cluster(mock)
    with pytest.raises(ExecutorError, match="^volume create: vol1: failed: Volume vol1 already "
                                            "exists$"):
        await mock.volume_create("node2", vol_req("vol1", 1))
    with pytest.raises(ExecutorError, match="is already part of a volume"):
        await mock.volume_create("node1", vol_req("vol2"))
    with pytest.raises(ExecutorError, match='already exists in volume group'):
        await mock.bricks_create("node1", [brick_req("node1")])
    with pytest.raises(ExecutorError, match=r"^Initializing device /dev/sdb failed \(already "
                                            r"initialized or contains data\?\): Can't initialize"):
        await mock.device_setup("node1", "/dev/sdb", "f" * 32)
    with pytest.raises(ExecutorError, match="Device or resource busy"):
        await mock.device_setup("node1", "/dev/sdb", "f" * 32, destroy_data=True)
    with pytest.raises(ExecutorError, match="still contains"):
        await mock.device_teardown("node1", "/dev/sdb", DEVS["node1"])
    await mock.device_teardown("node1", "/dev/sdb", DEVS["node1"], force=True)  # ignored
    assert DEVS["node1"] in mock.vgs_on("node1")


async def test_failed_batch_leaves_no_brick_and_space_is_checked():
    mock = MockExecutor(device_size_gib=3)
    await mock.device_setup("node1", "/dev/sdb", DEVS["node1"])
    with pytest.raises(ExecutorError, match="insufficient free space"):
        await mock.bricks_create("node1", [brick_req("node1", 0), brick_req("node1", 1),
                                           brick_req("node1", 2)])
    assert mock.bricks_on("node1") == {}
    await mock.bricks_create("node1", [brick_req("node1", 0), brick_req("node1", 1)])
    assert len(mock.bricks_on("node1")) == 2


async def test_destroying_missing_things_succeeds():
    mock = MockExecutor()
    await mock.volume_destroy("node1", "nope")
    assert await mock.bricks_destroy("node1", [brick_req("node1")]) == [True]
    await mock.device_teardown("node1", "/dev/sdb", DEVS["node1"])
    await mock.peer_detach("node1", "10.0.0.9")


async def test_same_volume_name_in_two_clusters():
    mock = MockExecutor()
    await cluster(mock)
    other = {"node7": "7" * 32, "node8": "8" * 32}
    for node, dev in other.items():
        await mock.device_setup(node, "/dev/sdb", dev)
        await mock.bricks_create(node, [BrickRequest(id=dev, device_id=dev, node_storage=node,
                                                     size_kib=GIB, tp_size_kib=GIB,
                                                     pool_metadata_kib=8192)])
    bricks = [(node, BrickRequest(id=dev, device_id=dev, node_storage=node, size_kib=1,
                                  tp_size_kib=1, pool_metadata_kib=1).brick_path)
              for node, dev in other.items()]
    await mock.peer_probe("node7", "node8")
    await mock.volume_create("node7", VolumeRequest(name="vol1", id="f" * 32,
                                                    durability="replicate", replica=2,
                                                    bricks=bricks))
    assert mock.volumes("node8")["vol1"]["id"] == "f" * 32
    assert mock.volumes("node2")["vol1"]["id"] == "e" * 32
    await mock.volume_destroy("node8", "vol1")
    assert mock.volumes("node1")["vol1"]["id"] == "e" * 32


async def test_down_and_unreachable_hosts():
    mock = MockExecutor(down_hosts={"node2"})
    with pytest.raises(ExecutorError, match="^Process exited with status 3$"):
        await mock.glusterd_check("node2")
    with pytest.raises(ExecutorError, match="Probe returned with Transport endpoint"):
        mock.down_hosts.add("10.0.0.3")
        await mock.peer_probe("node1", "10.0.0.3")
    with pytest.raises(ExecutorError, match="gluster daemon is operational"):
        await mock.volume_destroy("node2", "vol1")
    mock.down_hosts.clear()
    mock.unreachable_hosts.add("node3")
    with pytest.raises(NodeUnreachable):
        await mock.bricks_create("node3", [brick_req("node3")])


async def test_expand_replace_clone():
    mock = MockExecutor()
    await cluster(mock)
    for node in DEVS:
        await mock.bricks_create(node, [brick_req(node, 1)])
    new = [(STORAGE[n], brick_req(n, 1).brick_path) for n in DEVS]
    await mock.volume_expand("node1", vol_req(), new)
    assert len(mock.volumes()["vol1"]["bricks"]) == 6
    assert (await mock.volume_info("node1", "vol1")).type_str == "Distributed-Replicate"
    await mock.bricks_create("node3", [brick_req("node3", 2)])
    old, repl = new[2], (STORAGE["node3"], brick_req("node3", 2).brick_path)
    await mock.brick_replace("node1", "vol1", old, repl)
    assert f"{repl[0]}:{repl[1]}" in mock.volumes()["vol1"]["bricks"]
    info = await mock.volume_clone("node2", "vol1", "clone1")
    assert info.name == "clone1" and len(info.bricks) == 6
    host, path = info.bricks[0].name.split(":", 1)
    assert path.startswith("/run/gluster/snaps/") and path.endswith("/brick1/brick")
    clone_brick = mock.bricks_on("node1")[path]
    assert clone_brick["tp"] == f"tp_{bid('node1')}" and clone_brick["lv"].endswith("_0")
    # the clone brick shares the origin's thin pool: destroying it frees nothing
    req = BrickRequest(id="a" * 32, device_id=DEVS["node1"], node_storage=host, size_kib=GIB,
                       tp_size_kib=GIB, pool_metadata_kib=8192, path=path,
                       lv_name=clone_brick["lv"], tp_name=clone_brick["tp"])
    assert await mock.bricks_destroy("node1", [req]) == [False]
    with pytest.raises(ExecutorError, match="already exists"):
        await mock.volume_clone("node2", "vol1", "clone1")


async def test_strict_mode_refuses_missing_prerequisites():
    mock = MockExecutor(strict=True)
    with pytest.raises(ExecutorError, match=f'Volume group "vg_{DEVS["node1"]}" not found'):
        await mock.bricks_create("node1", [brick_req("node1")])
    with pytest.raises(ExecutorError, match="^Volume nope does not exist$"):
        await mock.volume_info("node1", "nope")
    await cluster(mock)
    with pytest.raises(ExecutorError, match="target is busy"):
        await mock.bricks_destroy("node1", [brick_req("node1")])
    lenient = MockExecutor()
    info = await lenient.volume_info("node1", "nope")
    assert [b.name for b in info.bricks] == ["node1:/mockpath"] * 3


async def test_invalid_input_is_refused_like_the_real_executor():
    mock = MockExecutor()
    with pytest.raises(ExecutorError, match="invalid volume option"):
        await mock.volume_create("node1", vol_req(options=["a.b 1\nreboot"]))
    with pytest.raises(ExecutorError, match="invalid device path"):
        await mock.device_setup("node1", "/dev/sdb;reboot", DEVS["node1"])


async def test_state_file_survives_a_new_process(tmp_path):
    state_file = tmp_path / "nodes.json"
    mock = MockExecutor(state_file=state_file)
    await cluster(mock)
    on_disk = MockExecutor.load_state(state_file)
    assert on_disk == mock.state()
    assert not [p for p in os.listdir(tmp_path) if p != "nodes.json"]  # no temp files left
    again = MockExecutor(state_file=state_file)  # "restarted server"
    assert again.volumes()["vol1"]["bricks"] == mock.volumes()["vol1"]["bricks"]
    await again.volume_destroy("node1", "vol1")
    assert MockExecutor.load_state(state_file)["hosts"]["node1"]["volumes"] == {}
    state_file.write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="not a pyketi mock state file"):
        MockExecutor(state_file=state_file)


async def test_pool_graph_kept_in_place_matches_a_rebuild():
    """Brick, device and volume calls update the trusted-pool graph in place (it was
    rebuilt from every volume after each call); what they keep must equal a rebuild."""
    mock = MockExecutor()
    state = mock._state

    def same() -> None:
        kept = {h: set(n) for h, n in state._graph().items() if n}
        assert kept == {h: set(n) for h, n in state._build_graph().items() if n}

    for n in range(3):
        await cluster(mock, n, volume=None)
        mock.volumes("node1")  # the graph is built now, and kept from here on
        await mock.volume_create("node1", vol_req(f"vol{n}", n))
        same()
    for node in DEVS:
        await mock.bricks_create(node, [brick_req(node, 9)])
    await mock.volume_expand("node2", vol_req("vol0"),
                             [(STORAGE[n], brick_req(n, 9).brick_path) for n in DEVS])
    same()
    await mock.bricks_destroy("node3", [brick_req("node3", 8)])
    await mock.volume_destroy("node1", "vol1")
    same()
    assert set(mock.volumes("node3")) == {"vol0", "vol2"}
