"""Multi-step changes with registered undo (after glusterd2's transaction engine).

An operation is recorded in the database (``Operation`` row) by its *build*
transaction, together with the objects it creates or deletes, before any node
is touched.  Its ``spec`` lists named steps with JSON arguments.  Steps are
looked up by name in a registry, so after a crash a new process can still run
each step's undo (or redo) from the stored spec alone.

* ``rollback`` operations (create, expand, add): on failure the started steps
  are undone in reverse order, then the kind's DB rollback removes the pending
  objects and returns device space.  When an undo fails (a node that hangs or cannot
  be reached is refused at once, see ``executors.reachability``), the
  operation is left marked ``failed`` and the slot is released: the background
  cleaner undoes it when the node answers again (``CleanupPending``).
* ``forward`` operations (deletes): on failure the pending marks are lifted
  (the object is visible again, a retried delete finishes the job); after a
  crash the cleaner re-runs the idempotent steps and finalizes.

Every step's do and undo must be idempotent: destroying what does not exist
counts as done.  That is what lets recovery after a crash undo *every* step of
an interrupted operation without a per-step journal write (which would cost a
database commit per step on the hot path): undoing a step that never ran is a
no-op.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Job, Operation, now
from pyketi.executors.base import NodeUnreachable
from pyketi.operations.jobs import current_job

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime

log = logging.getLogger("pyketi.operations")

StepFn = Callable[["Runtime", dict], Awaitable[Any]]
DbFn = Callable[[Session, Operation, dict], Any]


@dataclass(frozen=True)
class StepDef:
    do: StepFn
    undo: StepFn | None = None
    # hosts ``do`` changes: if one is known unreachable, the step fails before
    # touching any node and needs no undo
    touches: Callable[[dict], list[str]] | None = None


@dataclass(frozen=True)
class KindDef:
    """What to do in the database when an operation of this kind ends."""

    type_name: str                  # heketi pending-op type_name
    recovery: str                   # "rollback" | "forward"
    finalize: DbFn                  # success: make the change visible
    rollback: DbFn                  # failure (rollback kinds) / lift marks (forward kinds)


STEPS: dict[str, StepDef] = {}
KINDS: dict[str, KindDef] = {}
# (kind, spec) of operations built by this process, so ``execute`` need not read back
# the row its own build just wrote (bounded: a build whose commit failed leaves one here)
_BUILT: dict[str, tuple[str, dict]] = {}
_BUILT_MAX = 4096


def step(name: str, undo: StepFn | None = None,
         touches: Callable[[dict], list[str]] | None = None) -> Callable[[StepFn], StepFn]:
    def register(fn: StepFn) -> StepFn:
        STEPS[name] = StepDef(fn, undo, touches)
        return fn
    return register


def kind(name: str, definition: KindDef) -> None:
    KINDS[name] = definition


class OperationFailed(Exception):
    """An operation failed; ``str()`` is the message for the client."""


class CleanupPending(OperationFailed):
    """An operation failed and its undo could not finish (e.g. a node is
    unreachable): it stays recorded as ``failed`` for the background cleaner,
    so it must not be retried in place."""


def new_operation(session: Session, op_id: str, kind_name: str, owner: str,
                  steps: list[dict], changes: list[dict], data: dict | None = None) -> Operation:
    values = dict(id=op_id, type=kind_name, status="", owner=owner,
                  spec={"kind": kind_name, "steps": steps, "data": data or {}},
                  changes=changes, started_steps=[], error="", created_at=now())
    sql.insert_operation(session.connection(), values)
    op = Operation(**values)  # not in the session: the row is written already
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.pop(next(iter(_BUILT)))
    _BUILT[op_id] = (kind_name, values["spec"])
    return op


async def run_steps(rt: "Runtime", steps: list[dict],
                    started: list[int] | None = None) -> dict[str, Any]:
    """Run steps in order; ``started`` collects the index of each step begun."""
    results: dict[str, Any] = {}
    for index, st in enumerate(steps):
        definition = STEPS[st["name"]]
        if definition.touches is not None:
            _refuse_unreachable(rt, definition.touches(st["args"]))
        if started is not None:
            started.append(index)
        results[st["name"]] = await definition.do(rt, st["args"])
    return results


def _refuse_unreachable(rt: "Runtime", hosts: list[str]) -> None:
    """Fail before a step starts when a host it changes recently did not answer."""
    for host in hosts:
        reason = rt.executor.unreachable(host)
        if reason is not None:
            raise NodeUnreachable(reason, host)


async def undo_steps(rt: "Runtime", steps: list[dict], started: list[int]) -> list[str]:
    """Undo started steps in reverse order; returns the errors (empty = clean)."""
    errors = []
    for index in sorted(set(started), reverse=True):
        st = steps[index]
        undo = STEPS[st["name"]].undo
        if undo is None:
            continue
        try:
            await undo(rt, st["args"])
        except Exception as e:  # noqa: BLE001
            log.warning("undo of step %s failed: %s", st["name"], e)
            errors.append(f"{st['name']}: {e}")
    return errors


def _db_end(op_id: str, fn: DbFn, results: dict, job_error: str | None,
            location: str | Callable[[Any], str] | None = None,
            built: tuple[str, dict] | None = None) -> Callable[[Session], Any]:
    """The operation's last transaction; with ``location`` it also records the end of the
    current job (one commit instead of two; ``end.job_written`` tells whether it did).
    ``built``: (kind, spec) as this process built it, so the row need not be read."""
    job = current_job() if location is not None else None

    def end(s: Session) -> Any:
        end.job_written = False  # type: ignore[attr-defined] # set again on a re-run
        conn = s.connection()
        if built is not None:
            if not sql.delete_operation(conn, op_id):
                return None  # gone (cleaned up by another process)
            op = Operation(id=op_id, type=built[0], spec=built[1])
        else:
            row = conn.execute(select(*Operation.__table__.c)
                               .where(Operation.id == op_id)).first()
            if row is None:
                return None
            op = Operation(**row._mapping)  # a read-only copy for ``fn``
            sql.delete_operation(conn, op_id)
        value = fn(s, op, results)
        if job_error is not None:
            s.execute(update(Job).where(Job.operation_id == op_id, Job.status == "pending")
                      .values(status="failed", error=job_error, finished_at=now()))
        if job is not None:
            job.finish_in(s, location(value) if callable(location) else location)
            end.job_written = True  # type: ignore[attr-defined]
        return value
    return end


def _mark_failed(op_id: str, error: str) -> Callable[[Session], None]:
    def fn(s: Session) -> None:
        op = s.get(Operation, op_id)
        if op is not None:
            op.status = "failed"
            op.error = error
    return fn


async def execute(rt: "Runtime", op_id: str,
                  location: str | Callable[[Any], str] | None = None) -> Any:
    """Run a freshly built operation to its end (success or rolled-back failure).

    With ``location`` (the job's result location, or a function of the finalize result)
    the success also ends the current job in the same transaction."""
    built = _BUILT.pop(op_id, None)
    if built is None:
        op = await rt.db.read(lambda s: s.get(Operation, op_id))
        built = (op.type, op.spec)
    kd = KINDS[built[0]]
    steps = built[1]["steps"]
    started: list[int] = []
    try:
        results = await run_steps(rt, steps, started)
    except Exception as e:  # noqa: BLE001
        message = str(e) or e.__class__.__name__
        if kd.recovery == "rollback":
            undo_errors = await undo_steps(rt, steps, started)
            if undo_errors:
                await rt.db.write(_mark_failed(op_id, "; ".join(undo_errors)))
                log.warning("operation %s failed (%s); undo left to the background "
                            "cleaner: %s", op_id, message, "; ".join(undo_errors))
                rt.cleanup_later()
                raise CleanupPending(message) from e
        await rt.db.write(_db_end(op_id, kd.rollback, {}, None))
        raise OperationFailed(message) from e
    end = _db_end(op_id, kd.finalize, results, None, location, built)
    value = await rt.db.write(end)
    job = current_job()
    if job is not None and getattr(end, "job_written", False):
        job.finished = True  # committed with the operation's end: nothing left to write
    return value


async def recover(rt: "Runtime", op: Operation) -> None:
    """Clean up an operation whose process died (or whose undo failed before)."""
    kd = KINDS.get(op.type)
    if kd is None:
        log.error("operation %s has unknown kind %s; leaving it", op.id, op.type)
        return
    steps = op.spec["steps"]
    message = "operation interrupted (pyketi restarted) and rolled back"
    try:
        if kd.recovery == "forward":
            results = await run_steps(rt, steps)
            await rt.db.write(_db_end(op.id, kd.finalize, results,
                                      "operation interrupted (pyketi restarted); completed by cleanup"))
            return
        errors = await undo_steps(rt, steps, list(range(len(steps))))
        if errors:
            raise OperationFailed("; ".join(errors))
        await rt.db.write(_db_end(op.id, kd.rollback, {}, message))
    except Exception as e:  # noqa: BLE001
        log.warning("cleanup of operation %s failed, will retry: %s", op.id, e)
        await rt.db.write(_mark_failed(op.id, str(e)))
        raise


async def submit(rt: "Runtime", build: Callable[[Session], str],
                 location: str | Callable[[Any], str] = "", throttled: bool = True) -> str:
    """Build an operation (synchronously, one transaction) and run it in the
    background; the job ends at ``location`` (or ``location(result)``)."""
    async def work(op_id: str | None) -> str:
        result = await execute(rt, op_id, location)
        return location(result) if callable(location) else location

    return await rt.submit(lambda s, _job: build(s), work, throttled=throttled)


async def gather_hosts(calls: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    """Run one coroutine per host in parallel; raise the first error after all finished."""
    hosts = list(calls)
    outcomes = await asyncio.gather(*(calls[h]() for h in hosts), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return dict(zip(hosts, outcomes))
