"""The async queue behind ``/queue/{id}``, kept in the database.

A job row is written when a request is accepted (202) and updated when its
operation ends, so a restarted server, or another pyketi process sharing the
database, still answers for it.  A terminal entry is consumed by the first
read that sees it (heketi semantics); the delete is conditional so two readers
cannot both consume it.

A job belongs to the role whose token submitted it (``REQUEST_ROLE``, set by the
auth middleware for the request being handled; admin when auth is off): only
that role, or admin, may read it; to anyone else it answers as an unknown id.
A finished entry nobody polls expires ``retention`` seconds after it finished:
it is gone on read from then on, and ``purge_loop`` deletes it in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Awaitable, Callable

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from pyketi.db.models import Job, now
from pyketi.db.session import Database
from pyketi.executors.base import ExecutorError
from pyketi.ids import new_id
from pyketi.operations.engine import OperationFailed

# a failure the job's text explains (a node refused, no space...): a warning, no traceback
EXPECTED_FAILURES = (ValueError, OperationFailed, ExecutorError)
# failures the runner has already logged (at error, once): the job does not repeat them
OPERATION_LOGGED = (OperationFailed,)

log = logging.getLogger("pyketi.jobs")

# the role (admin|user) of the request being handled; a job records it when submitted
REQUEST_ROLE: ContextVar[str] = ContextVar("pyketi_request_role", default="admin")
DEFAULT_RETENTION_SECONDS = 24 * 3600


@dataclass
class JobState:
    status: str      # pending | done | failed | missing
    location: str = ""
    error: str = ""


def insert_job(session: Session, owner: str, operation_id: str | None = None) -> str:
    job_id = new_id()
    session.add(Job(id=job_id, status="pending", owner=owner, operation_id=operation_id))
    return job_id


def finish_job(session: Session, job_id: str, location: str = "", error: str = "") -> None:
    session.execute(update(Job).where(Job.id == job_id).values(
        status="failed" if error else "done", location=location, error=error,
        finished_at=now()))


def may_read(job: Job, role: str) -> bool:
    return role == "admin" or job.role == role


class JobQueue:
    def __init__(self, db: Database, instance_id: str,
                 retention: float = DEFAULT_RETENTION_SECONDS):
        self.db = db
        self.instance_id = instance_id
        self.retention = retention
        self.clock: Callable[[], float] = time.time
        self.tasks: set[asyncio.Task] = set()
        # awaited as hook(job_id, location, error) when a job ends (the audit trail)
        self.finished_hooks: list[Callable[[str, str, str], Awaitable[None]]] = []

    def expired(self, job: Job) -> bool:
        return job.finished_at is not None and job.finished_at + self.retention <= self.clock()

    def spawn(self, job_id: str, work: Callable[[], Awaitable[str]]) -> None:
        """Run ``work`` (returns the resource location or "") and record its outcome."""

        async def runner() -> None:
            location, message = "", ""
            try:
                location = await work() or ""
            except Exception as e:  # noqa: BLE001 - every failure becomes the job's text
                message = str(e) or e.__class__.__name__
                if not getattr(e, "message", None) and not isinstance(e, EXPECTED_FAILURES):
                    log.exception("job %s failed", job_id)
                elif not isinstance(e, OPERATION_LOGGED):
                    log.warning("job %s failed: %s", job_id, message)
                await self.db.write(lambda s: finish_job(s, job_id, error=message))
            else:
                await self.db.write(lambda s: finish_job(s, job_id, location=location))
            for hook in self.finished_hooks:  # in the submitting request's context
                try:
                    await hook(job_id, location, message)
                except Exception:  # noqa: BLE001 - a hook never changes the job's outcome
                    log.warning("job %s: finish hook failed", job_id, exc_info=True)

        task = asyncio.get_running_loop().create_task(runner(), name=f"job-{job_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def poll(self, job_id: str, role: str = "admin") -> JobState:
        """The job's state for ``role``; a terminal entry is consumed by this read."""
        def visible(job: Job | None) -> bool:
            return job is not None and may_read(job, role) and not self.expired(job)

        def read_and_consume(s: Session) -> JobState:
            job = s.get(Job, job_id)
            if not visible(job):
                return JobState("missing")
            if job.status == "pending":
                return JobState("pending")
            gone = s.execute(delete(Job).where(Job.id == job_id, Job.status != "pending"))
            if gone.rowcount != 1:
                return JobState("missing")
            return JobState(job.status, job.location, job.error)

        seen = await self.db.read(lambda s: s.get(Job, job_id))
        if seen is not None and self.expired(seen):
            await self.purge_expired()
        if not visible(seen):
            return JobState("missing")
        if seen.status == "pending":
            return JobState("pending")
        return await self.db.write(read_and_consume)

    async def purge_expired(self) -> int:
        """Delete finished entries older than the retention; returns how many."""
        cutoff = self.clock() - self.retention
        return await self.db.write(lambda s: s.execute(delete(Job).where(
            Job.status != "pending", Job.finished_at <= cutoff)).rowcount)

    async def purge_loop(self) -> None:
        """Background task: purge expired entries every ``retention / 4`` (1 s to 10 min)."""
        interval = min(max(self.retention / 4, 1.0), 600.0)
        while True:
            await asyncio.sleep(interval)
            try:
                purged = await self.purge_expired()
            except Exception:  # noqa: BLE001 - retried next round
                log.warning("purge of expired queue entries failed", exc_info=True)
                continue
            if purged:
                log.info("purged %d finished queue entries nobody polled", purged)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
