"""Audit trail storage: write a record, finish it when its job ends, page through
records with filters, purge old ones."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy import insert as insert_
from sqlalchemy.orm import Session

from pyketi.db import fast
from pyketi.db.models import AuditRecord, Job

MAX_LIMIT = 1000


@dataclass
class Filters:
    since: float | None = None
    until: float | None = None
    role: str | None = None
    result: str | None = None
    object_id: str | None = None   # hex only: matched inside the space-separated list
    limit: int = 100
    marker: int | None = None      # newest first: records with an id below the marker


_INSERT = insert_(AuditRecord)  # built once: one record per accepted change (hot path)


_FINISH = (update(AuditRecord).where(AuditRecord.id == bindparam("a_id"))
           .values(result=bindparam("a_result"), error=bindparam("a_error"),
                   objects=bindparam("a_objects"), duration=bindparam("a_duration")))


def insert(s: Session, **fields) -> int:
    return insert_conn(s.connection(), fields)


def insert_conn(conn: Connection, fields: dict) -> int:
    return fast.inserted_id(fast.run(conn, _INSERT, fields))


def finish(s: Session, record_id: int, **fields) -> None:
    s.execute(update(AuditRecord).where(AuditRecord.id == record_id).values(**fields))


def finish_conn(conn: Connection, record_id: int, result: str, error: str, objects: str,
                duration: float) -> None:
    fast.run(conn, _FINISH, {"a_id": record_id, "a_result": result, "a_error": error,
                           "a_objects": objects, "a_duration": duration})


def as_dict(r: AuditRecord) -> dict:
    out = {"id": r.id, "time": r.time, "role": r.role, "subject": r.subject,
           "remote": r.remote, "method": r.method, "route": r.route, "kind": r.kind,
           "objects": r.objects.split(), "status": r.status, "result": r.result,
           "duration": r.duration, "request_id": r.request_id}
    if r.error:
        out["error"] = r.error
    return out


def page(s: Session, f: Filters) -> tuple[list[dict], str | None]:
    """One page, newest first, and the marker of the next one (None on the last)."""
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(f.limit + 1)
    if f.since is not None:
        stmt = stmt.where(AuditRecord.time >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditRecord.time < f.until)
    if f.role:
        stmt = stmt.where(AuditRecord.role == f.role)
    if f.result:
        stmt = stmt.where(AuditRecord.result == f.result)
    if f.object_id:
        stmt = stmt.where((" " + AuditRecord.objects + " ").contains(f" {f.object_id} "))
    if f.marker is not None:
        stmt = stmt.where(AuditRecord.id < f.marker)
    rows = list(s.execute(stmt).scalars())
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    return [as_dict(r) for r in rows], (str(rows[-1].id) if more else None)


def purge(s: Session, before: float) -> int:
    return s.execute(delete(AuditRecord).where(AuditRecord.time < before)).rowcount


def finish_cleaned(s: Session, op_id: str, ended: float) -> int:
    """Records still ``accepted`` whose operation the background cleaner ended (the
    process that accepted it stopped): their result is now the job's."""
    jobs = s.execute(select(Job).where(Job.operation_id == op_id)).scalars().all()
    changed = 0
    for job in jobs:
        result = "failed" if job.status == "failed" else "done"
        for record in s.execute(select(AuditRecord).where(
                AuditRecord.job_id == job.id, AuditRecord.result == "accepted")).scalars():
            record.result, record.error = result, job.error or ""
            record.duration = ended - record.time
            changed += 1
    return changed
