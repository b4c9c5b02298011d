"""Opt-in crash hook for the kill -9 tests: the server SIGKILLs itself at a chosen step.

Off by default: only when the environment variable ``PYKETI_TEST_KILL_AT`` is set
(read once, when the first operation runs) does anything happen.  Format::

    PYKETI_TEST_KILL_AT=<kind>:<step>:<when>[:<seconds>]

* ``kind``  - an operation kind of ``operations.registry.KINDS`` (``create-volume``,
  ``expand-volume``, ``delete-volume``, ``add-device``, ``evict-brick``, ...);
* ``step``  - the 1-based index of the step in that operation's recorded steps;
* ``when``  - ``start`` (before the step touches any node), ``end`` (its node work
  returned, nothing of it recorded, the next step not begun) or ``during``
  (``seconds`` after the step began, default 1; if the step ends sooner, at its end).

Only an operation's first run is hooked (never the background cleaner's recovery),
and the process logs one line naming the operation and step before it dies, so a
test knows where the kill happened.  Used by ``tests/recovery/test_kill_every_step.py``
(mock nodes) and ``tests/integration/test_lab_kill.py`` (the VM lab).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

ENV_VAR = "PYKETI_TEST_KILL_AT"
WHEN = ("start", "during", "end")
log = logging.getLogger("pyketi.operations")


@dataclass(frozen=True)
class KillPoint:
    kind: str
    step: int          # 1-based
    when: str
    seconds: float = 1.0

    @classmethod
    def parse(cls, text: str) -> "KillPoint":
        parts = text.strip().split(":")
        if len(parts) not in (3, 4) or parts[2] not in WHEN:
            raise ValueError(f"{ENV_VAR}: expected <kind>:<step>:start|during|end[:<seconds>], "
                             f"got {text!r}")
        try:
            step = int(parts[1])
            seconds = float(parts[3]) if len(parts) == 4 else 1.0
        except ValueError:
            raise ValueError(f"{ENV_VAR}: step must be an integer and seconds a number, "
                             f"got {text!r}") from None
        if step < 1 or seconds < 0:
            raise ValueError(f"{ENV_VAR}: step must be >= 1 and seconds >= 0, got {text!r}")
        return cls(parts[0], step, parts[2], seconds)

    def matches(self, kind: str, index: int) -> bool:
        return kind == self.kind and index + 1 == self.step


_UNSET = object()
_armed: object = _UNSET


def armed() -> KillPoint | None:
    """The kill point asked for by the environment, or None (the normal case)."""
    global _armed
    if _armed is _UNSET:
        raw = os.environ.get(ENV_VAR, "")
        _armed = KillPoint.parse(raw) if raw.strip() else None
    return _armed  # type: ignore[return-value]


def kill_now(op_id: str, kind: str, index: int, total: int, name: str, when: str) -> None:
    log.warning("%s: killing pyketi (pid %d) with SIGKILL at the %s of step %d/%d %s of "
                "operation %s (%s)", ENV_VAR, os.getpid(), when, index + 1, total, name,
                op_id, kind)
    for handler in logging.getLogger().handlers + log.handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001 - dying anyway
            pass
    os.kill(os.getpid(), signal.SIGKILL)


def at_start(point: KillPoint | None, op_id: str, kind: str, index: int, total: int,
             name: str) -> asyncio.TimerHandle | None:
    """Before step ``index`` runs: kill now (``start``) or arm the ``during`` timer."""
    if point is None or not point.matches(kind, index):
        return None
    if point.when == "start":
        kill_now(op_id, kind, index, total, name, "start")
    if point.when == "during":
        return asyncio.get_running_loop().call_later(
            point.seconds, kill_now, op_id, kind, index, total, name, "middle")
    return None


def at_end(point: KillPoint | None, op_id: str, kind: str, index: int, total: int,
           name: str) -> None:
    """Step ``index``'s node work returned (``during`` that ended sooner dies here too)."""
    if point is not None and point.matches(kind, index) and point.when in ("during", "end"):
        kill_now(op_id, kind, index, total, name, "end")
