"""make_executor: heketi's executor names and pyketi's sections."""

from __future__ import annotations

import json

import pytest

from pyketi.executors import factory
from pyketi.executors.base import ExecutorError
from pyketi.executors.cmd.executor import CmdExecutor
from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor

from executor_fakes import FakeTransport


def test_mock_with_state_file_size_and_env(tmp_path):
    ex = factory.make_executor({"executor": "mock", "mockexec": {
        "state_file": str(tmp_path / "s.json"), "strict": True}},
        env={"HEKETI_MOCK_DEVICE_SIZE_GB": "7"})
    assert isinstance(ex, MockExecutor)
    assert (ex.device_size_gib, ex.strict) == (7, True)
    assert factory.make_executor({"executor": "mock"}, env={}).device_size_gib == 500
    sized = factory.make_executor({"executor": "mock", "mockexec": {"device_size_gib": 3}},
                                  env={"HEKETI_MOCK_DEVICE_SIZE_GB": "7"})
    assert sized.device_size_gib == 3


async def test_state_file_is_written(tmp_path):
    ex = factory.make_executor({"executor": "mock",
                                "mockexec": {"state_file": str(tmp_path / "s.json")}}, env={})
    await ex.device_setup("node1", "/dev/sdb", "d" * 32)
    assert "d" * 32 in MockExecutor.load_state(tmp_path / "s.json")["hosts"]["node1"]["vgs"]


def test_ssh_and_empty_name_use_the_transport_factory():
    seen = []

    def transport_factory(section):
        seen.append(section)
        return FakeTransport()

    section = {"keyfile": "/k", "user": "root", "fstab": "/etc/fstab2", "snapshot_limit": 2}
    for name in ("ssh", "", None):
        cfg = {"sshexec": section} | ({"executor": name} if name is not None else {})
        ex = factory.make_executor(cfg, ssh_transport_factory=transport_factory, env={})
        assert isinstance(ex, CmdExecutor)
        assert ex.config.fstab == "/etc/fstab2" and ex.config.snapshot_limit == 2
    assert seen == [section] * 3


def test_ssh_without_factory_imports_ssh_module():
    with pytest.raises(ExecutorError) as err:
        factory.make_executor({"executor": "ssh", "sshexec": {}}, env={})
    assert "ssh" in str(err.value).lower()


def test_inject_and_fault():
    section = {"rules": [{"call": "volume_create", "nth": 1}]}
    for name in ("inject/mock", "fault"):
        ex = factory.make_executor({"executor": name, "injectexec": section}, env={})
        assert isinstance(ex, FaultExecutor) and isinstance(ex.inner, MockExecutor)
        assert [r.call for r in ex.rules] == ["volume_create"]
    ex = factory.make_executor({"executor": "inject/ssh", "sshexec": {}},
                               ssh_transport_factory=lambda s: FakeTransport(), env={})
    assert isinstance(ex.inner, CmdExecutor)


def test_env_faults_wrap_any_executor():
    env = {"PYKETI_FAULTS": json.dumps([{"call": "glusterd_check", "nth": 0}])}
    ex = factory.make_executor({"executor": "mock"}, env=env)
    assert isinstance(ex, FaultExecutor) and ex.rules[0].nth == 0


@pytest.mark.parametrize("name", ["kube", "kubernetes", "bogus", 3])
def test_invalid_executor(name):
    with pytest.raises(ValueError, match="invalid executor"):
        factory.make_executor({"executor": name}, env={})
