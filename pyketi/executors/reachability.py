"""Which storage nodes recently failed to answer (pure logic, clock injected).

A node that timed out or could not be reached is *down* for a cool-down
(``glusterfs.node_unreachable_seconds``, default 60 s).  While it is down, a
batch for it is refused at once (the caller fails fast with a message naming
the node) instead of waiting a full timeout again, so one hung node cannot
hold every in-flight slot.  After the cool-down exactly one batch may *probe*
the node; others are still refused until that probe ends: success makes the
node reachable again, another failure starts a new cool-down.

Used by ``executors.cmd.runner.HostRunner``, so every transport benefits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

DEFAULT_COOLDOWN = 60.0


@dataclass
class _Down:
    reason: str
    until: float
    probing: bool = False


class Reachability:
    """Memory of unreachable hosts.  ``cooldown <= 0`` turns it off."""

    def __init__(self, cooldown: float = DEFAULT_COOLDOWN,
                 clock: Callable[[], float] = time.monotonic):
        self.cooldown = float(cooldown)
        self._clock = clock
        self._down: dict[str, _Down] = {}

    def refusal(self, host: str) -> str | None:
        """Why a batch for ``host`` must not start now, or None (without claiming a probe)."""
        state = self._down.get(host)
        if state is None:
            return None
        if state.probing:
            return f"{state.reason}; a retry is in progress"
        left = state.until - self._clock()
        if left > 0:
            return f"{state.reason}; next try in {left:.0f} s"
        return None

    def begin(self, host: str) -> str | None:
        """Like ``refusal``, but a caller allowed on a down host becomes its one probe."""
        reason = self.refusal(host)
        state = self._down.get(host)
        if reason is None and state is not None:
            state.probing = True
        return reason

    def succeeded(self, host: str) -> None:
        """The host answered (whatever the commands' exit status)."""
        self._down.pop(host, None)

    def failed(self, host: str, reason: str) -> None:
        """The host did not answer: down for the cool-down."""
        if self.cooldown <= 0:
            return
        self._down[host] = _Down(reason, self._clock() + self.cooldown)

    def abandoned(self, host: str) -> None:
        """A batch ended without telling anything (cancelled): release a probe claim."""
        state = self._down.get(host)
        if state is not None:
            state.probing = False

    def down_hosts(self) -> list[str]:
        """Hosts currently refused (for logs and tests)."""
        return sorted(h for h in self._down if self.refusal(h) is not None)
