"""The running server's shared state: config, database, executor, job queue,
in-flight throttle, liveness heartbeat and the background cleaner."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Awaitable, Callable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from pyketi.config import Config
from pyketi.db import statements as sql
from pyketi.db.models import Attribute, Instance, Job, Operation, now
from pyketi.db.session import Database
from pyketi.errors import Busy
from pyketi.executors.base import Executor
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.jobs import REQUEST_ROLE, JobQueue
from pyketi.placement import Limits

log = logging.getLogger("pyketi.runtime")

GIB_KIB = 1024 * 1024
HEARTBEAT_SECONDS = 3.0
RETRY_SECONDS = 5  # cleaner rounds while operations wait for cleanup (node back?)


class Runtime:
    def __init__(self, config: Config, db: Database, executor: Executor):
        self.config = config
        self.db = db
        self.executor = executor
        self.instance_id = new_id()
        self.jobs = JobQueue(db, self.instance_id, config.job_retention_seconds)
        self.inflight = 0
        self.admin_state = config.default_state
        self.limits = Limits(brick_min_kib=config.brick_min_size_gb * GIB_KIB,
                             brick_max_kib=config.brick_max_size_gb * GIB_KIB,
                             max_bricks_per_volume=config.max_bricks_per_volume)
        self._background: list[asyncio.Task] = []
        self._cleaning = asyncio.Lock()
        self._wake_cleaner = asyncio.Event()
        self.running_ops: set[str] = set()
        self.cleanup_rounds = 0

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        def register(s: Session) -> None:
            s.add(Instance(id=self.instance_id, hostname=socket.gethostname(), pid=os.getpid()))
            if s.get(Attribute, "DB_GENERATION_ID") is None:  # heketi: id of this database
                s.add(Attribute(key="DB_GENERATION_ID", value=new_id()))
        await self.db.write(register)
        loop = asyncio.get_running_loop()
        self._background.append(loop.create_task(self._heartbeat(), name="heartbeat"))
        self._background.append(loop.create_task(self.jobs.purge_loop(), name="job-purge"))
        if not self.config.disable_background_cleaner:
            self._background.append(loop.create_task(self._cleaner(), name="cleaner"))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.jobs.wait_idle(timeout=10)
        try:
            await self.db.write(lambda s: s.execute(
                delete(Instance).where(Instance.id == self.instance_id)))
        except Exception:  # noqa: BLE001 - best effort at shutdown
            log.warning("could not deregister instance", exc_info=True)
        await self.executor.close()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.db.write(lambda s: s.execute(
                    update(Instance).where(Instance.id == self.instance_id)
                    .values(heartbeat=now())))
            except Exception:  # noqa: BLE001
                log.warning("heartbeat failed", exc_info=True)

    async def _cleaner(self) -> None:
        await asyncio.sleep(self.config.start_time_background_cleaner)
        while True:
            try:
                await self.clean_stale()
            except Exception:  # noqa: BLE001
                log.warning("background cleanup round failed", exc_info=True)
            pause = await self._cleaner_pause()
            try:  # a newly failed operation wakes the cleaner (then retried after a pause)
                await asyncio.wait_for(self._wake_cleaner.wait(), pause)
                await asyncio.sleep(min(self.config.operation_lease_seconds, RETRY_SECONDS))
            except asyncio.TimeoutError:
                pass
            self._wake_cleaner.clear()

    def cleanup_later(self) -> None:
        """An operation was left ``failed`` for the cleaner (e.g. its node did not answer)."""
        self._wake_cleaner.set()

    async def _cleaner_pause(self) -> float:
        """Seconds until the next cleanup round: sooner while something is left to clean
        (operations of dead instances, or failed ones whose undo waits for a node)."""
        def left(s: Session) -> bool:
            rows = s.execute(select(Operation.id).where(or_(
                Operation.owner != self.instance_id, Operation.status == "failed"))).scalars()
            return any(op_id not in self.running_ops for op_id in rows)
        if await self.db.read(left):
            return min(self.config.operation_lease_seconds, RETRY_SECONDS)
        return self.config.refresh_time_background_cleaner

    # -- liveness ------------------------------------------------------------
    def _dead_owners(self, s: Session) -> set[str]:
        """Instances (other than us) that no longer run."""
        alive: set[str] = {self.instance_id}
        lease = self.config.operation_lease_seconds
        host = socket.gethostname()
        for inst in s.execute(select(Instance)).scalars():
            if inst.id == self.instance_id:
                continue
            if inst.hostname == host and not _pid_alive(inst.pid):
                continue
            if time.time() - inst.heartbeat <= lease:
                alive.add(inst.id)
        owners = set(s.execute(select(Operation.owner)).scalars())
        owners |= set(s.execute(select(Job.owner).where(Job.status == "pending")).scalars())
        return owners - alive

    async def clean_stale(self, only: list[str] | None = None) -> int:
        """Clean operations of dead instances and failed ones; returns how many were cleaned."""
        async with self._cleaning:
            def claim(s: Session) -> list[Operation]:
                dead = self._dead_owners(s)
                stmt = select(Operation)
                if not self.db.is_sqlite:
                    # a second cleaner waits here, then sees our claim and skips
                    stmt = stmt.with_for_update()
                ops = [op for op in s.execute(stmt).scalars()
                       if (op.owner in dead or op.status == "failed")
                       and (only is None or op.id in only)]
                for op in ops:
                    if op.owner in dead and op.status == "":
                        op.status = "stale"
                    op.owner = self.instance_id
                # jobs whose process died without an operation to clean
                s.execute(update(Job).where(Job.owner.in_(dead), Job.status == "pending",
                                            Job.operation_id.is_(None))
                          .values(status="failed", finished_at=now(),
                                  error="operation interrupted (pyketi restarted)"))
                s.execute(delete(Instance).where(Instance.id.in_(dead)))
                return ops

            ops = await self.db.write(claim)
            cleaned = 0
            for op in ops:
                if op.status == "failed" and op.id in self.running_ops:
                    continue
                try:
                    await engine.recover(self, op)
                    cleaned += 1
                except Exception:  # noqa: BLE001
                    continue
            self.cleanup_rounds += 1
            return cleaned

    # -- operations ----------------------------------------------------------
    def reserve_slot(self) -> None:
        if self.inflight >= self.config.max_inflight_operations:
            raise Busy()
        self.inflight += 1

    def release_slot(self) -> None:
        self.inflight = max(0, self.inflight - 1)

    async def submit(self, build: Callable[[Session, str], str | None],
                     work: Callable[[str | None], Awaitable[str]],
                     throttled: bool = True) -> str:
        """Build (one transaction, raising ApiErrors synchronously), then run in background.

        ``build(session, job_id)`` records the operation and returns its id
        (or None); ``work(op_id)`` runs it and returns the result location.
        Returns the job id for the 202.
        """
        role = REQUEST_ROLE.get()  # here: the build runs in a worker thread
        if throttled:
            self.reserve_slot()
        try:
            def do_build(s: Session) -> tuple[str, str | None]:
                job_id = new_id()
                op_id = build(s, job_id)
                sql.insert_job(s.connection(), dict(
                    id=job_id, status="pending", owner=self.instance_id, operation_id=op_id,
                    role=role, location="", error="", created_at=now(), finished_at=None))
                return job_id, op_id
            job_id, op_id = await self.db.write(do_build)
        except BaseException:
            if throttled:
                self.release_slot()
            raise
        if op_id:
            self.running_ops.add(op_id)

        async def run() -> str:
            try:
                return await work(op_id)
            finally:
                if op_id:
                    self.running_ops.discard(op_id)
                if throttled:
                    self.release_slot()

        self.jobs.spawn(job_id, run, role)
        return job_id


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()

