"""State the worker processes of one server share (``workers`` > 1): a page of shared
memory mapped by the supervisor before it forks them.

* the ``/admin`` maintenance state (heketi keeps it in memory; with several workers a
  ``POST /admin`` answered by one worker must hold for every worker at once);
* each worker's count of open connections, so that a worker with more connections than
  another leaves the next connection to it (``api.listener.SharedAcceptor``);
* whether each worker has started serving (a worker that dies before is a start-up
  failure, not a crash to recover from: ``workers.Supervisor``).

One process (``workers`` = 1) uses the same object, private to it.  Single-byte and
aligned 4-byte stores are atomic on the platforms pyketi runs on; a count read while it
changes is only a hint for the next accept.
"""

from __future__ import annotations

import mmap
import struct

ADMIN_STATES = ("normal", "read-only", "local-client")
_COUNTS_AT = 8
MAX_WORKERS = 64
_READY_AT = _COUNTS_AT + 4 * MAX_WORKERS


class SharedState:
    def __init__(self, workers: int = 1, admin_state: str = "normal"):
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be 1 to {MAX_WORKERS}")
        self.workers = workers
        # MAP_SHARED | MAP_ANONYMOUS: the children forked afterwards see the same page
        self._mem = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_SHARED)
        self.admin_state = admin_state

    # -- /admin ------------------------------------------------------------------------
    @property
    def admin_state(self) -> str:
        return ADMIN_STATES[self._mem[0]]

    @admin_state.setter
    def admin_state(self, state: str) -> None:
        self._mem[0] = ADMIN_STATES.index(state)

    # -- connections per worker --------------------------------------------------------
    def set_connections(self, worker: int, count: int) -> None:
        struct.pack_into("=i", self._mem, _COUNTS_AT + 4 * worker, count)

    def connections(self, worker: int) -> int:
        return struct.unpack_from("=i", self._mem, _COUNTS_AT + 4 * worker)[0]

    def busier_than_another(self, worker: int) -> bool:
        """Whether another worker has fewer open connections than ``worker``."""
        mine = self.connections(worker)
        return any(self.connections(other) < mine
                   for other in range(self.workers) if other != worker)

    # -- readiness ---------------------------------------------------------------------
    def set_ready(self, worker: int, ready: bool = True) -> None:
        self._mem[_READY_AT + worker] = 1 if ready else 0

    def ready(self, worker: int) -> bool:
        return self._mem[_READY_AT + worker] == 1
