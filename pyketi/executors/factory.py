"""Choose the executor from the ``glusterfs`` section of ``heketi.json``.

heketi: ``apps/glusterfs/app.go`` (``NewApp``: the ``executor`` switch).

=================  ==========================================================
``executor``       executor
=================  ==========================================================
``""`` / ``ssh``   ``CmdExecutor`` over ``SshTransport`` (``sshexec`` section)
``mock``           ``MockExecutor`` (``mockexec`` section, below)
``inject/mock``,   ``FaultExecutor`` over ``MockExecutor``; rules from
``fault``          ``injectexec.rules`` (``injectexec.base`` may say ``ssh``)
``inject/ssh``     ``FaultExecutor`` over the ssh ``CmdExecutor``
=================  ==========================================================

``mockexec`` keys (pyketi): ``state_file`` (persist the fake node state),
``device_size_gib`` (else env ``HEKETI_MOCK_DEVICE_SIZE_GB``, else 500),
``strict`` (bool), ``shared`` (bool: several server processes share ``state_file``).  ``node_unreachable_seconds`` (pyketi, default 60, 0 = off):
how long a node that timed out or could not be reached is refused at once
(``executors.reachability``).  With env ``PYKETI_FAULTS`` set, any executor is wrapped
in a ``FaultExecutor`` (for subprocess tests).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from pyketi.executors.base import Executor, ExecutorError
from pyketi.executors.cmd.executor import CmdExecutor
from pyketi.executors.config import ExecConfig
from pyketi.executors.doubles.fault import ENV_VAR, FaultExecutor, rules_from_env
from pyketi.executors.doubles.mock import MockExecutor, env_device_size_gib
from pyketi.executors.reachability import DEFAULT_COOLDOWN, Reachability
from pyketi.executors.transports.base import Transport

SshTransportFactory = Callable[[Mapping[str, Any]], Transport]
_INJECT = {"inject/mock": "mock", "fault": "mock", "inject/ssh": "ssh"}


def make_executor(glusterfs_config: Mapping[str, Any], *,
                  ssh_transport_factory: SshTransportFactory | None = None,
                  env: Mapping[str, str] | None = None) -> Executor:
    """Build the executor named by ``glusterfs_config["executor"]``."""
    env = os.environ if env is None else env
    name = glusterfs_config.get("executor") or "ssh"
    if not isinstance(name, str):
        raise ValueError(f"invalid executor: {name!r}")
    if name in _INJECT:
        section = glusterfs_config.get("injectexec") or {}
        base = section.get("base") or _INJECT[name]
        if base not in ("mock", "ssh"):
            raise ValueError(f"invalid injectexec base: {base}")
        inner = _make_base(base, glusterfs_config, ssh_transport_factory, env)
        return FaultExecutor.from_config(inner, section, env)
    if name not in ("mock", "ssh"):
        raise ValueError(f"invalid executor: {name}")
    executor = _make_base(name, glusterfs_config, ssh_transport_factory, env)
    if env.get(ENV_VAR, "").strip():
        return FaultExecutor(executor, rules_from_env(env))
    return executor


def _make_base(name: str, cfg: Mapping[str, Any],
               ssh_transport_factory: SshTransportFactory | None,
               env: Mapping[str, str]) -> Executor:
    if name == "mock":
        return make_mock(cfg.get("mockexec") or {}, env)
    return make_ssh(cfg.get("sshexec") or {}, ssh_transport_factory, env,
                    unreachable_seconds(cfg))


def unreachable_seconds(cfg: Mapping[str, Any]) -> float:
    """``glusterfs.node_unreachable_seconds``: a number >= 0 (0 turns the memory off)."""
    value = cfg.get("node_unreachable_seconds", DEFAULT_COOLDOWN)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"Unable to parse configuration: node_unreachable_seconds: "
                         f"seconds >= 0 expected, got {value!r}")
    return float(value)


def make_mock(section: Mapping[str, Any], env: Mapping[str, str]) -> MockExecutor:
    size = section.get("device_size_gib")
    return MockExecutor(
        device_size_gib=size if size is not None else env_device_size_gib(dict(env)),
        state_file=section.get("state_file") or None,
        strict=bool(section.get("strict", False)),
        shared=bool(section.get("shared", False)))


def make_ssh(section: Mapping[str, Any], transport_factory: SshTransportFactory | None,
             env: Mapping[str, str],
             node_unreachable_seconds: float = DEFAULT_COOLDOWN) -> CmdExecutor:
    config = ExecConfig.from_heketi(section, env)
    if transport_factory is None:
        try:
            from pyketi.executors.transports.ssh import SshTransport  # owned by another module
        except ImportError as exc:
            raise ExecutorError(f"ssh executor unavailable: cannot import "
                                f"pyketi.executors.transports.ssh ({exc})") from None
        transport_factory = SshTransport.from_config
    return CmdExecutor(transport_factory(section), config,
                       reachability=Reachability(node_unreachable_seconds))
