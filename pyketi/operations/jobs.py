"""The async queue behind ``/queue/{id}``, kept in the database.

A job row is written when a request is accepted (202) and updated when its
operation ends, so a restarted server, or another pyketi process sharing the
database, still answers for it.  A terminal entry is consumed by the first
read that sees it (heketi semantics); the delete is conditional so two readers
cannot both consume it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from pyketi.db.models import Job, now
from pyketi.db.session import Database
from pyketi.ids import new_id

log = logging.getLogger("pyketi.jobs")


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


class JobQueue:
    def __init__(self, db: Database, instance_id: str):
        self.db = db
        self.instance_id = instance_id
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, job_id: str, work: Callable[[], Awaitable[str]]) -> None:
        """Run ``work`` (returns the resource location or "") and record its outcome."""

        async def runner() -> None:
            try:
                location = await work()
            except Exception as e:  # noqa: BLE001 - every failure becomes the job's text
                message = str(e) or e.__class__.__name__
                if not getattr(e, "message", None) and not isinstance(e, (ValueError,)):
                    log.exception("job %s failed", job_id)
                else:
                    log.warning("job %s failed: %s", job_id, message)
                await self.db.write(lambda s: finish_job(s, job_id, error=message))
            else:
                await self.db.write(lambda s: finish_job(s, job_id, location=location or ""))

        task = asyncio.get_running_loop().create_task(runner(), name=f"job-{job_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def poll(self, job_id: str) -> JobState:
        def read_and_consume(s: Session) -> JobState:
            job = s.get(Job, job_id)
            if job is None:
                return JobState("missing")
            if job.status == "pending":
                return JobState("pending")
            gone = s.execute(delete(Job).where(Job.id == job_id, Job.status != "pending"))
            if gone.rowcount != 1:
                return JobState("missing")
            return JobState(job.status, job.location, job.error)

        pending = await self.db.read(lambda s: s.get(Job, job_id))
        if pending is None:
            return JobState("missing")
        if pending.status == "pending":
            return JobState("pending")
        return await self.db.write(read_and_consume)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
