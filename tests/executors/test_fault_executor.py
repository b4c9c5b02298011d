"""FaultExecutor: nth semantics, actions, host filter, recording, config sources."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pyketi.executors.base import ExecutorError, NodeUnreachable
from pyketi.executors.doubles.fault import FaultExecutor, FaultRule, rules_from_env
from pyketi.executors.doubles.mock import MockExecutor


def wrap(*rules, mock: MockExecutor | None = None) -> tuple[FaultExecutor, MockExecutor]:
    inner = mock or MockExecutor()
    return FaultExecutor(inner, list(rules)), inner


async def outcomes(ex: FaultExecutor, n: int, host: str = "node1") -> list[str]:
    result = []
    for _ in range(n):
        try:
            await ex.glusterd_check(host)
            result.append("ok")
        except ExecutorError as exc:
            result.append(str(exc))
    return result


async def test_nth_fires_once_on_that_call():
    ex, _ = wrap({"call": "glusterd_check", "nth": 2, "action": "fail", "message": "boom"})
    assert await outcomes(ex, 4) == ["ok", "boom", "ok", "ok"]


async def test_nth_zero_fires_every_time_and_default_message():
    ex, _ = wrap({"call": "glusterd_check", "nth": 0})
    assert await outcomes(ex, 3) == ["injected failure"] * 3


async def test_counts_are_per_method_and_host_filter_counts_only_its_host():
    ex, _ = wrap({"call": "glusterd_check", "nth": 2, "host": "node2", "message": "x"})
    await ex.peer_detach("node1", "10.0.0.9")  # other method: not counted
    assert await outcomes(ex, 2, "node1") == ["ok", "ok"]
    assert await outcomes(ex, 3, "node2") == ["ok", "x", "ok"]


async def test_fail_does_not_reach_the_node_but_fail_after_does():
    ex, mock = wrap({"call": "device_setup", "nth": 1},
                    {"call": "device_setup", "nth": 2, "action": "fail_after", "message": "late"})
    with pytest.raises(ExecutorError, match="^injected failure$"):
        await ex.device_setup("node1", "/dev/sdb", "1" * 32)
    assert mock.vgs_on("node1") == {}
    with pytest.raises(ExecutorError, match="^late$"):
        await ex.device_setup("node1", "/dev/sdb", "1" * 32)
    assert list(mock.vgs_on("node1")) == ["1" * 32]
    assert [c.outcome for c in ex.calls] == ["injected fail", "injected fail_after"]


async def test_unreachable_and_wildcard():
    ex, _ = wrap({"call": "*", "nth": 0, "host": "node3", "action": "unreachable",
                  "message": "no route"})
    with pytest.raises(NodeUnreachable, match="no route") as err:
        await ex.volume_destroy("node3", "vol1")
    assert err.value.host == "node3"
    await ex.volume_destroy("node1", "vol1")


async def test_hang_then_delegate_and_hang_after():
    ex, mock = wrap({"call": "device_setup", "nth": 1, "action": "hang", "seconds": 0.05},
                    {"call": "device_teardown", "nth": 1, "action": "hang_after", "seconds": 30})
    start = time.monotonic()
    await ex.device_setup("node1", "/dev/sdb", "1" * 32)
    assert time.monotonic() - start >= 0.05 and mock.vgs_on("node1")
    task = asyncio.create_task(ex.device_teardown("node1", "/dev/sdb", "1" * 32))
    await asyncio.sleep(0.05)
    assert not task.done() and mock.vgs_on("node1") == {}  # node work done, caller frozen
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_calls_are_recorded_with_args():
    ex, _ = wrap()
    await ex.device_setup("node1", "/dev/sdb", "1" * 32)
    await ex.brick_replace("node1", "vol1", ("h1", "/p1"), ("h2", "/p2"))  # alias
    assert [(c.call, c.host, c.args, c.outcome) for c in ex.calls] == [
        ("device_setup", "node1", {"device": "/dev/sdb", "device_id": "1" * 32}, "ok"),
        ("volume_replace_brick", "node1", {"volume": "vol1", "old": "h1:/p1", "new": "h2:/p2"},
         "ok")]
    assert len(ex.calls_of("device_setup")) == 1


def test_rule_validation():
    for bad in ({"call": "nope"}, {"call": "volume_create", "action": "explode"},
                {"call": "volume_create", "nth": -1}, {"call": "volume_create", "colour": 1},
                {"nth": 1}):
        with pytest.raises(ValueError):
            FaultRule.from_dict(bad)
    assert FaultRule.from_dict({"call": "brick_replace"}).call == "volume_replace_brick"


def test_rules_from_config_and_env():
    env = {"PYKETI_FAULTS": json.dumps([{"call": "volume_create", "nth": 3}])}
    ex = FaultExecutor.from_config(MockExecutor(), {"rules": [{"call": "bricks_create"}]}, env)
    assert [r.call for r in ex.rules] == ["bricks_create", "volume_create"]
    assert rules_from_env({"PYKETI_FAULTS": '{"rules": [{"call": "peer_probe"}]}'}) == [
        {"call": "peer_probe"}]
    assert rules_from_env({}) == []
    with pytest.raises(ValueError, match="invalid JSON"):
        rules_from_env({"PYKETI_FAULTS": "[{"})


SERVER = textwrap.dedent("""
    import asyncio, sys
    from pyketi.executors.base import BrickRequest, VolumeRequest
    from pyketi.executors.factory import make_executor

    async def main():
        ex = make_executor({"executor": "mock", "mockexec": {"state_file": sys.argv[1]}})
        b = BrickRequest(id="b" * 32, device_id="d" * 32, node_storage="10.0.0.1",
                         size_kib=1048576, tp_size_kib=1048576, pool_metadata_kib=8192)
        await ex.device_setup("node1", "/dev/sdb", "d" * 32)
        await ex.bricks_create("node1", [b])
        print("bricks created", flush=True)
        await ex.volume_create("node1", VolumeRequest(
            name="vol1", id="e" * 32, durability="none", bricks=[("10.0.0.1", b.brick_path)]))
        print("volume created", flush=True)

    asyncio.run(main())
""")


def test_kill_a_process_frozen_mid_operation(tmp_path):
    """PYKETI_FAULTS freezes a subprocess before volume create; SIGKILL; inspect the nodes."""
    state = tmp_path / "nodes.json"
    env = dict(os.environ, PYKETI_FAULTS=json.dumps(
        [{"call": "volume_create", "nth": 1, "action": "hang", "seconds": 300}]))
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(state)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "bricks created"
        time.sleep(0.2)
        assert proc.poll() is None  # hanging in volume_create
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    nodes = MockExecutor.load_state(state)["hosts"]["node1"]
    assert list(nodes["bricks"]) == [f"/var/lib/heketi/mounts/vg_{'d' * 32}/brick_{'b' * 32}/brick"]
    assert nodes["volumes"] == {}
    # a restarted server continues from the node state
    restarted = MockExecutor(state_file=state)
    assert restarted.bricks_on("node1") == {k: v for k, v in nodes["bricks"].items()}
