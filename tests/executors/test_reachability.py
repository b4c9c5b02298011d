"""The memory of unreachable nodes (pure logic, fake clock) and HostRunner's use of it."""

from __future__ import annotations

import asyncio

import pytest

from executor_fakes import FakeTransport
from pyketi.executors.base import CommandTimeout, ExecutorError, NodeUnreachable
from pyketi.executors.cmd.runner import HostRunner
from pyketi.executors.config import ExecConfig
from pyketi.executors.factory import make_executor, unreachable_seconds
from pyketi.executors.reachability import Reachability
from pyketi.executors.transports.base import Command, Result


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the memory ---------------------------------------------------------------

def test_unknown_host_is_allowed():
    r = Reachability(60, Clock())
    assert r.refusal("n1") is None and r.begin("n1") is None
    assert r.down_hosts() == []


def test_failed_host_refused_for_the_cooldown_then_one_probe():
    clock = Clock()
    r = Reachability(60, clock)
    r.failed("n1", "SSH command timeout")
    assert r.refusal("n2") is None  # other hosts are not affected
    reason = r.refusal("n1")
    assert reason == "SSH command timeout; next try in 60 s"
    clock.now += 59.5
    assert r.begin("n1") is not None
    assert r.down_hosts() == ["n1"]
    clock.now += 1
    assert r.refusal("n1") is None          # cool-down over: may probe
    assert r.begin("n1") is None            # this caller is the probe ...
    assert "retry is in progress" in r.begin("n1")  # ... and the only one
    assert "retry is in progress" in r.refusal("n1")
    r.succeeded("n1")
    assert r.begin("n1") is None and r.begin("n1") is None
    assert r.down_hosts() == []


def test_failed_probe_starts_a_new_cooldown():
    clock = Clock()
    r = Reachability(10, clock)
    r.failed("n1", "refused")
    clock.now += 11
    assert r.begin("n1") is None
    r.failed("n1", "refused again")
    assert r.refusal("n1") == "refused again; next try in 10 s"


def test_abandoned_probe_lets_the_next_caller_probe():
    clock = Clock()
    r = Reachability(10, clock)
    r.failed("n1", "timeout")
    clock.now += 11
    assert r.begin("n1") is None
    r.abandoned("n1")
    assert r.begin("n1") is None


def test_zero_cooldown_turns_it_off():
    r = Reachability(0, Clock())
    r.failed("n1", "timeout")
    assert r.begin("n1") is None and r.down_hosts() == []


# -- configuration --------------------------------------------------------------

def test_config_key():
    assert unreachable_seconds({}) == 60.0
    assert unreachable_seconds({"node_unreachable_seconds": 5}) == 5.0
    assert unreachable_seconds({"node_unreachable_seconds": 0}) == 0.0
    for bad in (-1, "60", True, None, float("nan")):
        with pytest.raises(ValueError, match="node_unreachable_seconds"):
            unreachable_seconds({"node_unreachable_seconds": bad})
    ex = make_executor({"executor": "ssh", "node_unreachable_seconds": 7},
                       ssh_transport_factory=lambda _s: FakeTransport(), env={})
    assert ex.runner.reachability.cooldown == 7.0


def test_pyketi_config_accepts_the_key(tmp_path, caplog):
    from pyketi.config import load_config
    path = tmp_path / "heketi.json"
    path.write_text('{"glusterfs": {"executor": "mock", "node_unreachable_seconds": 30}}')
    cfg = load_config(str(path), disable_auth=True, env={})
    assert cfg.glusterfs["node_unreachable_seconds"] == 30
    assert "unknown configuration keys" not in caplog.text


# -- HostRunner -----------------------------------------------------------------

class HangingTransport(FakeTransport):
    """Hosts in ``hung`` never answer: each batch waits its timeout, then times out."""

    def __init__(self) -> None:
        super().__init__()
        self.hung: set[str] = set()
        self.refused: set[str] = set()

    async def run_batch(self, host: str, commands: list[Command], timeout: float) -> list[Result]:
        if host in self.refused:
            self.batches.append((host, list(commands), timeout))
            raise NodeUnreachable(f"Unable to connect to root@{host}:22: connection refused",
                                  host)
        if host in self.hung:
            self.batches.append((host, list(commands), timeout))
            await asyncio.sleep(timeout)
            raise CommandTimeout("SSH command timeout", host)
        return await super().run_batch(host, commands, timeout)


CMD = [Command.of("true")]


async def test_timed_out_host_fails_fast_and_others_proceed():
    t = HangingTransport()
    t.hung.add("hung")
    runner = HostRunner(t, ExecConfig(), Reachability(60))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    # three batches for the hung host queue on its lock; only the first waits
    outcomes = await asyncio.gather(*(runner.run("hung", CMD, 0.5) for _ in range(3)),
                                    runner.run("ok", CMD, 0.5), return_exceptions=True)
    elapsed = loop.time() - t0
    assert isinstance(outcomes[0], CommandTimeout)
    for queued in outcomes[1:3]:
        assert isinstance(queued, NodeUnreachable)
        assert str(queued) == "Node hung is unreachable: SSH command timeout; next try in 60 s"
        assert queued.host == "hung"
    assert outcomes[3][0].ok
    assert elapsed < 1.2, elapsed  # not 3 x 0.5 s
    assert [h for h, _, _ in t.batches].count("hung") == 1  # the queued ones never reached it
    t0 = loop.time()
    with pytest.raises(NodeUnreachable, match="^Node hung is unreachable"):
        await runner.run_checked("hung", CMD, 0.5)
    assert loop.time() - t0 < 0.1


async def test_unreachable_host_recovers_after_the_cooldown():
    clock = Clock()
    t = HangingTransport()
    t.refused.add("n1")
    runner = HostRunner(t, ExecConfig(), Reachability(30, clock))
    with pytest.raises(NodeUnreachable, match="connection refused"):
        await runner.run("n1", CMD, 5)
    with pytest.raises(NodeUnreachable, match="^Node n1 is unreachable: Unable to connect"):
        await runner.run("n1", CMD, 5)
    assert len(t.batches) == 1
    t.refused.clear()
    clock.now += 31
    assert (await runner.run("n1", CMD, 5))[0].ok
    assert (await runner.run("n1", CMD, 5))[0].ok
    assert runner.reachability.down_hosts() == []


async def test_command_failure_is_not_unreachable():
    t = HangingTransport().on("false", exit_status=1, stderr="boom")
    runner = HostRunner(t, ExecConfig(), Reachability(60))
    with pytest.raises(ExecutorError, match="^boom$") as ei:
        await runner.run_checked("n1", [Command.of("false")], 5)
    assert not isinstance(ei.value, NodeUnreachable)
    assert (await runner.run("n1", CMD, 5))[0].ok


async def test_cancelled_probe_does_not_block_the_host():
    clock = Clock()
    t = HangingTransport()
    t.hung.add("n1")
    runner = HostRunner(t, ExecConfig(), Reachability(10, clock))
    with pytest.raises(CommandTimeout):
        await runner.run("n1", CMD, 0.05)
    clock.now += 11
    task = asyncio.create_task(runner.run("n1", CMD, 30))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    t.hung.clear()
    assert (await runner.run("n1", CMD, 5))[0].ok
