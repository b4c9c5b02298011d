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
from pyketi.units import GIB_KIB


class Runtime:
    def __init__(self, config: Config, db: Database, executor: Executor):
        self.config = config
        self.db = db
        self.executor = executor
        self.runner = OperationRunner(config, db, executor)
        self.admin_state = config.default_state  # heketi's /admin read-only switch
        self.limits = Limits(brick_min_kib=config.brick_min_size_gb * GIB_KIB,
                             brick_max_kib=config.brick_max_size_gb * GIB_KIB,
                             max_bricks_per_volume=config.max_bricks_per_volume)

    async def start(self) -> None:
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.executor.close()
