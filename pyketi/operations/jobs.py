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

Hot path (perf): a poll of a job this process is still running is answered from
memory (``running``: the row says pending until the job's end is committed, and
only this process changes it); any other poll is one transaction.  An operation
may record its job's end in its own final transaction (``current_job``), so a
finished job costs no separate write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from pyketi.db import statements as sql
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


class JobWatcher(Protocol):
    """Something written with a job's rows, in the same transactions (the audit record
    of the request that submitted it): ``accepted`` with the job's insert, ``ended``
    with the job's end, so neither costs a transaction of its own."""

    def accepted(self, conn: Connection, job_id: str) -> None: ...

    def ended(self, conn: Connection, location: str, error: str) -> None: ...


@dataclass
class JobHandle:
    """The job a background task is running: lets the operation record the job's end in
    its own final transaction (``finish_in``); ``finished`` once that committed."""
    job_id: str
    finished: bool = False
    watchers: tuple[JobWatcher, ...] = ()

    def finish_in(self, session: Session, location: str) -> None:
        self.end_in(session, location, "")

    def end_in(self, session: Session, location: str, error: str) -> None:
        """Record the job's end (and its watchers') in ``session``'s transaction."""
        finish_job(session, self.job_id, location=location, error=error)
        if self.watchers:
            conn = session.connection()
            for watcher in self.watchers:
                watcher.ended(conn, location, error)


_CURRENT_JOB: ContextVar[JobHandle | None] = ContextVar("pyketi_current_job", default=None)


def current_job() -> JobHandle | None:
    """The job of the running background task (None outside a job)."""
    return _CURRENT_JOB.get()


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
    sql.finish_job(session.connection(), job_id, "failed" if error else "done", location, error,
                   now())


def may_read(job_role: str, role: str) -> bool:
    return role == "admin" or job_role == role


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
        # job id -> role, for the jobs this process runs whose end is not committed yet
        self.running: dict[str, str] = {}
        # called on the event loop, in the submitting request's context, when a job is
        # submitted: each returns a JobWatcher for that job, or None
        self.watcher_factories: list[Callable[[], JobWatcher | None]] = []
        self._task_of: dict[str, asyncio.Task] = {}

    def watchers(self) -> tuple[JobWatcher, ...]:
        """The watchers of a job about to be submitted (call on the event loop, in the
        submitting request's context; pass them to ``JobWatcher.accepted`` and ``spawn``)."""
        return tuple(w for make in self.watcher_factories if (w := make()) is not None)

    def spawn(self, job_id: str, work: Callable[[], Awaitable[str]],
              role: str = "admin", watchers: tuple[JobWatcher, ...] = ()) -> asyncio.Task:
        """Run ``work`` (returns the resource location or "") and record its outcome."""
        handle = JobHandle(job_id, watchers=watchers)
        self.running[job_id] = role

        async def runner() -> None:
            _CURRENT_JOB.set(handle)
            location, message = "", ""
            try:
                location = await work() or ""
            except Exception as e:  # noqa: BLE001 - every failure becomes the job's text
                message = str(e) or e.__class__.__name__
                if not getattr(e, "message", None) and not isinstance(e, EXPECTED_FAILURES):
                    log.exception("job %s failed", job_id)
                elif not isinstance(e, OPERATION_LOGGED):
                    log.warning("job %s failed: %s", job_id, message)
                if not handle.finished:
                    await self.db.write(lambda s: handle.end_in(s, "", message))
            else:
                if not handle.finished:
                    await self.db.write(lambda s: handle.end_in(s, location or "", ""))
            finally:
                self.running.pop(job_id, None)
            for hook in self.finished_hooks:  # in the submitting request's context
                try:
                    await hook(job_id, location, message)
                except Exception:  # noqa: BLE001 - a hook never changes the job's outcome
                    log.warning("job %s: finish hook failed", job_id, exc_info=True)

        task = asyncio.get_running_loop().create_task(runner(), name=f"job-{job_id}")
        self.tasks.add(task)
        self._task_of[job_id] = task
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _t: self._task_of.pop(job_id, None))
        return task

    async def settle(self, job_id: str, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a job this process runs to end (never cancels
        it): a 202 sent after a quick job's end lets the client's first poll find it done."""
        task = self._task_of.get(job_id)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    async def poll(self, job_id: str, role: str = "admin") -> JobState:
        """The job's state for ``role``; a terminal entry is consumed by this read."""
        owner = self.running.get(job_id)
        if owner is not None:  # ours and still running: the row says pending
            return JobState("pending" if may_read(owner, role) else "missing")
        cutoff = self.clock() - self.retention

        def read_and_consume(conn: Connection) -> JobState:
            # the usual answer, a finished job, in one statement; anything else (pending,
            # expired, another role's, missing) is told apart by the reads below
            taken = sql.take_finished_job(conn, job_id, None if role == "admin" else role,
                                          cutoff)
            if taken is not None:
                return JobState(taken.status, taken.location, taken.error)
            row = sql.job_row(conn, job_id)
            if row is None:
                return JobState("missing")
            if row.finished_at is not None and row.finished_at <= cutoff:
                conn.execute(delete(Job).where(Job.status != "pending",
                                               Job.finished_at <= cutoff))
                return JobState("missing")
            if not may_read(row.role, role):
                return JobState("missing")
            if row.status == "pending":
                return JobState("pending")
            if not sql.consume_job(conn, job_id):
                return JobState("missing")
            return JobState(row.status, row.location, row.error)

        return await self.db.write_conn(read_and_consume)

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
