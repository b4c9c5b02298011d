"""``FaultExecutor``: wraps any executor and fails or hangs chosen calls.

pyketi's take on heketi's ``executors/injectexec`` (``inject/mock``,
``inject/ssh``): instead of regex hooks on command lines, rules address
executor *calls*::

    [{"call": "volume_create", "nth": 1, "action": "fail", "message": "injected failure"},
     {"call": "bricks_create", "nth": 2, "action": "hang", "seconds": 300},
     {"call": "*", "host": "node2", "nth": 0, "action": "unreachable"}]

Rule keys:

* ``call``   - executor method name, or ``"*"`` for any.
* ``nth``    - fire on the nth matching call (1-based), ``0`` = every call.
  A rule counts the calls that match its ``call`` and ``host``; without
  ``host`` that is every call of the method made through this executor
  (one per server process).
* ``action`` - ``fail`` (raise ExecutorError(message) instead of calling),
  ``fail_after`` (call, then raise: the node did the work, the caller sees an
  error), ``hang`` (sleep ``seconds``, then call), ``hang_after`` (call, then
  sleep: freeze a server after node work, before it records the result),
  ``unreachable`` (raise NodeUnreachable(message)).
* ``message`` - error text (default ``injected failure``).
* ``seconds`` - sleep of ``hang``/``hang_after`` (default 3600).
* ``host``   - only calls addressed to this host.

Every call is recorded in ``calls`` (name, host, argument summary, outcome).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, Awaitable, Callable, Iterable, Mapping, TypeVar

from pyketi.executors.base import (BrickRequest, DeviceInfo, Executor, ExecutorError,
                                   HealBrickInfo, NodeUnreachable, VolumeInfo,
                                   VolumeRequest)

T = TypeVar("T")
ENV_VAR = "PYKETI_FAULTS"
CALLS = frozenset({
    "glusterd_check", "peer_probe", "peer_detach", "device_setup", "device_teardown",
    "device_info", "bricks_create", "bricks_destroy", "volume_create", "volume_expand",
    "volume_destroy", "volume_info", "volume_clone", "volume_replace_brick",
    "volume_heal_info"})
CALL_ALIASES = {"brick_replace": "volume_replace_brick"}
BEFORE_ACTIONS = ("fail", "hang", "unreachable")
AFTER_ACTIONS = ("fail_after", "hang_after")


@dataclass
class FaultRule:
    call: str
    nth: int = 1
    action: str = "fail"
    message: str = "injected failure"
    seconds: float = 3600.0
    host: str | None = None
    seen: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        self.call = CALL_ALIASES.get(self.call, self.call)
        if self.call != "*" and self.call not in CALLS:
            raise ValueError(f"fault rule: unknown call {self.call!r}")
        if self.action not in BEFORE_ACTIONS + AFTER_ACTIONS:
            raise ValueError(f"fault rule: unknown action {self.action!r}")
        if not isinstance(self.nth, int) or isinstance(self.nth, bool) or self.nth < 0:
            raise ValueError(f"fault rule: nth must be an integer >= 0, not {self.nth!r}")
        if not isinstance(self.seconds, (int, float)) or self.seconds < 0:
            raise ValueError(f"fault rule: seconds must be >= 0, not {self.seconds!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FaultRule":
        known = {f.name for f in fields(cls)} - {"seen"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"fault rule: unknown key(s) {sorted(unknown)}")
        if "call" not in data:
            raise ValueError("fault rule: 'call' is required")
        return cls(**dict(data))

    def tick(self, call: str, host: str) -> bool:
        """Count a call; True if this rule fires for it."""
        if self.call not in ("*", call) or (self.host is not None and self.host != host):
            return False
        self.seen += 1
        return self.nth == 0 or self.seen == self.nth


@dataclass
class CallRecord:
    call: str
    host: str
    args: dict[str, Any]
    outcome: str = "pending"  # ok | error: <text> | injected <action>


def rules_from_env(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rules from ``PYKETI_FAULTS`` (a JSON list, or an object with ``rules``)."""
    raw = (os.environ if env is None else env).get(ENV_VAR, "").strip()
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_VAR}: invalid JSON: {exc}") from None
    rules = data.get("rules", []) if isinstance(data, dict) else data
    if not isinstance(rules, list):
        raise ValueError(f"{ENV_VAR}: expected a list of rules")
    return rules


class FaultExecutor(Executor):
    """Delegates to ``inner`` except where a rule fires (see module docstring)."""

    def __init__(self, inner: Executor,
                 rules: Iterable[FaultRule | Mapping[str, Any]] = ()):
        self.inner = inner
        self.rules: list[FaultRule] = []
        self.calls: list[CallRecord] = []
        for rule in rules:
            self.add_rule(rule)

    @classmethod
    def from_config(cls, inner: Executor, section: Mapping[str, Any] | None = None,
                    env: Mapping[str, str] | None = None) -> "FaultExecutor":
        """Rules of a config section (``{"rules": [...]}``) followed by ``PYKETI_FAULTS``."""
        rules = list((section or {}).get("rules") or [])
        return cls(inner, rules + rules_from_env(env))

    def add_rule(self, rule: FaultRule | Mapping[str, Any]) -> FaultRule:
        rule = rule if isinstance(rule, FaultRule) else FaultRule.from_dict(rule)
        self.rules.append(rule)
        return rule

    def calls_of(self, call: str) -> list[CallRecord]:
        return [c for c in self.calls if c.call == call]

    async def _invoke(self, call: str, host: str, args: dict[str, Any],
                      run: Callable[[], Awaitable[T]]) -> T:
        record = CallRecord(call, host, args)
        self.calls.append(record)
        fired = [r for r in self.rules if r.tick(call, host)]
        for rule in (r for r in fired if r.action in BEFORE_ACTIONS):
            record.outcome = f"injected {rule.action}"
            if rule.action == "hang":
                await asyncio.sleep(rule.seconds)
            elif rule.action == "unreachable":
                raise NodeUnreachable(rule.message, host)
            else:
                raise ExecutorError(rule.message, host)
        try:
            result = await run()
        except ExecutorError as exc:
            record.outcome = f"error: {exc}"
            raise
        record.outcome = "ok"
        for rule in (r for r in fired if r.action in AFTER_ACTIONS):
            record.outcome = f"injected {rule.action}"
            if rule.action == "hang_after":
                await asyncio.sleep(rule.seconds)
            else:
                raise ExecutorError(rule.message, host)
        return result

    # -- Executor ---------------------------------------------------------
    async def glusterd_check(self, host: str) -> None:
        return await self._invoke("glusterd_check", host, {},
                                  lambda: self.inner.glusterd_check(host))

    async def peer_probe(self, host: str, new_node_storage: str) -> None:
        return await self._invoke("peer_probe", host, {"node": new_node_storage},
                                  lambda: self.inner.peer_probe(host, new_node_storage))

    async def peer_detach(self, host: str, node_storage: str) -> None:
        return await self._invoke("peer_detach", host, {"node": node_storage},
                                  lambda: self.inner.peer_detach(host, node_storage))

    async def device_setup(self, host: str, device_name: str, device_id: str,
                           destroy_data: bool = False) -> DeviceInfo:
        return await self._invoke(
            "device_setup", host, {"device": device_name, "device_id": device_id},
            lambda: self.inner.device_setup(host, device_name, device_id, destroy_data))

    async def device_teardown(self, host: str, device_name: str, device_id: str,
                              pv_uuid: str = "", force: bool = False) -> None:
        return await self._invoke(
            "device_teardown", host, {"device": device_name, "device_id": device_id},
            lambda: self.inner.device_teardown(host, device_name, device_id, pv_uuid, force))

    async def device_info(self, host: str, device_name: str, device_id: str,
                          pv_uuid: str = "") -> DeviceInfo:
        return await self._invoke(
            "device_info", host, {"device": device_name, "device_id": device_id},
            lambda: self.inner.device_info(host, device_name, device_id, pv_uuid))

    async def bricks_create(self, host: str, bricks: list[BrickRequest]) -> None:
        return await self._invoke("bricks_create", host, {"bricks": [b.id for b in bricks]},
                                  lambda: self.inner.bricks_create(host, bricks))

    async def bricks_destroy(self, host: str, bricks: list[BrickRequest]) -> list[bool]:
        return await self._invoke("bricks_destroy", host, {"bricks": [b.id for b in bricks]},
                                  lambda: self.inner.bricks_destroy(host, bricks))

    async def volume_create(self, host: str, volume: VolumeRequest) -> None:
        return await self._invoke("volume_create", host, {"volume": volume.name},
                                  lambda: self.inner.volume_create(host, volume))

    async def volume_expand(self, host: str, volume: VolumeRequest,
                            new_bricks: list[tuple[str, str]], rebalance: bool = True) -> None:
        return await self._invoke(
            "volume_expand", host, {"volume": volume.name, "bricks": len(new_bricks)},
            lambda: self.inner.volume_expand(host, volume, new_bricks, rebalance))

    async def volume_destroy(self, host: str, name: str) -> None:
        return await self._invoke("volume_destroy", host, {"volume": name},
                                  lambda: self.inner.volume_destroy(host, name))

    async def volume_info(self, host: str, name: str) -> VolumeInfo:
        return await self._invoke("volume_info", host, {"volume": name},
                                  lambda: self.inner.volume_info(host, name))

    async def volume_clone(self, host: str, name: str, clone_name: str) -> VolumeInfo:
        return await self._invoke("volume_clone", host, {"volume": name, "clone": clone_name},
                                  lambda: self.inner.volume_clone(host, name, clone_name))

    async def volume_replace_brick(self, host: str, name: str, old_brick: tuple[str, str],
                                   new_brick: tuple[str, str]) -> None:
        return await self._invoke(
            "volume_replace_brick", host,
            {"volume": name, "old": ":".join(old_brick), "new": ":".join(new_brick)},
            lambda: self.inner.volume_replace_brick(host, name, old_brick, new_brick))

    async def volume_heal_info(self, host: str, name: str) -> list[HealBrickInfo]:
        return await self._invoke("volume_heal_info", host, {"volume": name},
                                  lambda: self.inner.volume_heal_info(host, name))

    async def close(self) -> None:
        await self.inner.close()
