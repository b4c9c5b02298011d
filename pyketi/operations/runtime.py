"""The running server's parts wired together: config, database, executor and the
operation runner (which owns jobs, operations, liveness and the cleaner).

Nothing here runs an operation: use cases (``operations.<use case>``) take the
runtime for its config and runner; steps get only a ``StepContext``.
"""

from __future__ import annotations

from pyketi.config import Config
from pyketi.db.session import Database
from pyketi.executors.base import Executor
from pyketi.operations.runner import OperationRunner
from pyketi.placement import Limits
from pyketi.shared_state import SharedState
from pyketi.units import GIB_KIB


class Runtime:
    def __init__(self, config: Config, db: Database, executor: Executor,
                 shared: SharedState | None = None):
        self.config = config
        self.db = db
        self.executor = executor
        self.runner = OperationRunner(config, db, executor)
        # shared with the other worker processes of this server (``workers``)
        self.shared = shared if shared is not None else SharedState(1, config.default_state)
        self.limits = Limits(brick_min_kib=config.brick_min_size_gb * GIB_KIB,
                             brick_max_kib=config.brick_max_size_gb * GIB_KIB,
                             max_bricks_per_volume=config.max_bricks_per_volume)

    @property
    def admin_state(self) -> str:
        """heketi's ``/admin`` read-only switch (the same for every worker process)."""
        return self.shared.admin_state

    @admin_state.setter
    def admin_state(self, state: str) -> None:
        self.shared.admin_state = state

    async def start(self) -> None:
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.executor.close()
