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
from typing import Any, Awaitable, Callable

from sqlalchemy.orm import Session

from pyketi.db.models import Operation
from pyketi.executors.base import Executor, NodeUnreachable

log = logging.getLogger("pyketi.operations")


@dataclass(frozen=True)
class StepContext:
    """What a step may use: the node executor (steps never see the database)."""

    executor: Executor


StepFn = Callable[[StepContext, dict], Awaitable[Any]]
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
    op = Operation(id=op_id, type=kind_name, status="", owner=owner,
                   spec={"kind": kind_name, "steps": steps, "data": data or {}},
                   changes=changes, started_steps=[])
    session.add(op)
    return op


async def run_steps(ctx: StepContext, steps: list[dict],
                    started: list[int] | None = None) -> dict[str, Any]:
    """Run steps in order; ``started`` collects the index of each step begun."""
    results: dict[str, Any] = {}
    for index, st in enumerate(steps):
        definition = STEPS[st["name"]]
        if definition.touches is not None:
            _refuse_unreachable(ctx, definition.touches(st["args"]))
        if started is not None:
            started.append(index)
        results[st["name"]] = await definition.do(ctx, st["args"])
    return results


def _refuse_unreachable(ctx: StepContext, hosts: list[str]) -> None:
    """Fail before a step starts when a host it changes recently did not answer."""
    for host in hosts:
        reason = ctx.executor.unreachable(host)
        if reason is not None:
            raise NodeUnreachable(reason, host)


async def undo_steps(ctx: StepContext, steps: list[dict], started: list[int]) -> list[str]:
    """Undo started steps in reverse order; returns the errors (empty = clean)."""
    errors = []
    for index in sorted(set(started), reverse=True):
        st = steps[index]
        undo = STEPS[st["name"]].undo
        if undo is None:
            continue
        try:
            await undo(ctx, st["args"])
        except Exception as e:  # noqa: BLE001
            log.warning("undo of step %s failed: %s", st["name"], e)
            errors.append(f"{st['name']}: {e}")
    return errors


async def gather_hosts(calls: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    """Run one coroutine per host in parallel; raise the first error after all finished."""
    hosts = list(calls)
    outcomes = await asyncio.gather(*(calls[h]() for h in hosts), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return dict(zip(hosts, outcomes))
