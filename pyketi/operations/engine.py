"""Multi-step changes with registered undo (after glusterd2's transaction engine).

An operation is recorded in the database (``Operation`` row) by its *build*
transaction, together with the objects it creates or deletes, before any node
is touched.  Its ``spec`` lists named steps with JSON arguments.  Steps are
looked up by name in ``operations.steps.STEPS``, so after a crash a new process
can still run each step's undo (or redo) from the stored spec alone.  The
``OperationRunner`` (``operations.runner``) drives an operation with the
functions here; a use case's module says what its kind does in the database
(``KindDef``), and ``operations.registry`` lists every kind.

* ``rollback`` operations (create, expand, add): on failure the started steps
  are undone in reverse order - unless a step that cannot be undone took effect
  (``StepDef.resume``: add-brick, replace-brick), then the rest runs forward -, then the kind's DB rollback removes the pending
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

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import Session

from pyketi.db import statements as sql
from pyketi.db.models import Operation, now
from pyketi.executors.base import ExecutorError, NodeUnreachable, NothingChanged
from pyketi.operations import killpoint, steps as registry
from pyketi.operations.record import Record
from pyketi.operations.steps import Step, StepContext

log = logging.getLogger("pyketi.operations")

# the end of an operation in the database: (session, operation id, its data, step results)
DbFn = Callable[[Session, str, Any, dict], Any]


@dataclass(frozen=True)
class KindDef:
    """What to do in the database when an operation of this kind ends."""

    type_name: str                  # heketi pending-op type_name
    recovery: str                   # "rollback" | "forward"
    data: type[Record]              # the operation's data (``spec["data"]``)
    finalize: DbFn                  # success: make the change visible
    rollback: DbFn                  # failure (rollback kinds) / lift marks (forward kinds)


class OperationFailed(Exception):
    """An operation failed; ``str()`` is the message for the client."""


class CleanupPending(OperationFailed):
    """An operation failed and its undo could not finish (e.g. a node is
    unreachable): it stays recorded as ``failed`` for the background cleaner,
    so it must not be retried in place."""


# (kind, spec) of operations built by this process, so ``execute`` need not read back
# the row its own build just wrote (bounded: a build whose commit failed leaves one here)
_BUILT: dict[str, tuple[str, dict]] = {}
_BUILT_MAX = 4096


def new_operation(session: Session, op_id: str, kind_name: str, owner: str,
                  steps: list[Step], changes: list[dict], data: Record) -> Operation:
    values = dict(id=op_id, type=kind_name, status="", owner=owner,
                  spec={"kind": kind_name, "steps": [st.to_json() for st in steps],
                        "data": data.to_json()},
                  changes=changes, started_steps=[], error="", progress="",
                  created_at=now())
    sql.insert_operation(session.connection(), values)  # prepared: the hot path
    op = Operation(**values)  # not in the session: the row is written already
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.pop(next(iter(_BUILT)))
    _BUILT[op_id] = (kind_name, values["spec"])
    return op


def take_built(op_id: str) -> tuple[str, dict] | None:
    """(kind, spec) of an operation this process built and has not run yet."""
    return _BUILT.pop(op_id, None)


def stored_steps(op: Operation) -> list[Step]:
    return steps_of(op.spec)


def steps_of(spec: dict) -> list[Step]:
    return registry.load(spec["steps"])


async def run_steps(ctx: StepContext, steps: list[Step],
                    started: list[int] | None = None, op_id: str = "",
                    kind: str = "") -> dict[str, Any]:
    """Run steps in order; ``started`` collects the index of each step begun.
    Each step is logged at info with the nodes it changes and its duration.
    ``kind`` (an operation's first run only) lets the opt-in test hook
    ``killpoint`` (``PYKETI_TEST_KILL_AT``) kill the process at a step."""
    results: dict[str, Any] = {}
    if op_id:
        ctx = dataclasses.replace(ctx, op_id=op_id)
    point = killpoint.armed() if kind else None
    for index, st in enumerate(steps):
        definition = registry.definition(st.name)
        hosts = definition.touches(st.args) if definition.touches is not None else []
        _refuse_unreachable(ctx, hosts)
        if started is not None:
            started.append(index)
        ctx.report("step", f"step {index + 1}/{len(steps)} {st.name} on {_on(hosts)}")
        began = time.monotonic()
        timer = killpoint.at_start(point, op_id, kind, index, len(steps), st.name)
        try:
            results[st.name] = await definition.do(ctx, st.args)
        except NothingChanged:
            if started is not None:
                started.pop()  # refused before it changed anything: no undo
            raise
        except Exception as e:  # noqa: BLE001 - logged here once, raised to the runner
            log.info("operation %s step %d/%d %s on %s failed after %.0f ms: %s", op_id,
                     index + 1, len(steps), st.name, _on(hosts),
                     (time.monotonic() - began) * 1000, e)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        killpoint.at_end(point, op_id, kind, index, len(steps), st.name)
        log.info("operation %s step %d/%d %s on %s done in %.0f ms", op_id, index + 1,
                 len(steps), st.name, _on(hosts), (time.monotonic() - began) * 1000)
    return results


def failure_text(error: BaseException) -> str:
    """The message a failed operation reports: a node error that does not name its
    node (an SSH command timeout) gets the node added, so the operator knows which."""
    message = str(error) or error.__class__.__name__
    host = getattr(error, "host", None) if isinstance(error, ExecutorError) else None
    if host and host not in message:
        message = f"{message} (node {host})"
    return message


def _on(hosts: list[str]) -> str:
    return ",".join(hosts) if hosts else "-"


def _refuse_unreachable(ctx: StepContext, hosts: list[str]) -> None:
    """Fail before a step starts when a host it changes recently did not answer."""
    for host in hosts:
        reason = ctx.executor.unreachable(host)
        if reason is not None:
            raise NodeUnreachable(reason, host)


async def point_of_no_return(ctx: StepContext, steps: list[Step], started: list[int],
                             op_id: str = "") -> int | None:
    """The index of the last started step that took effect on the nodes and cannot be
    undone (its ``resume`` says so), or None: undo as usual. Raises when the nodes
    cannot tell (the operation waits for the cleaner)."""
    for index in sorted(set(started), reverse=True):
        st = steps[index]
        definition = registry.definition(st.name)
        if definition.resume is not None and await definition.resume(ctx, st.args):
            log.info("operation %s step %d/%d %s took effect on the nodes: finishing the "
                     "operation instead of undoing it", op_id, index + 1, len(steps), st.name)
            return index
    return None


async def undo_steps(ctx: StepContext, steps: list[Step], started: list[int],
                     op_id: str = "") -> list[str]:
    """Undo started steps in reverse order; returns the errors (empty = clean)."""
    errors = []
    for index in sorted(set(started), reverse=True):
        st = steps[index]
        definition = registry.definition(st.name)
        if definition.undo is None:
            continue
        hosts = definition.touches(st.args) if definition.touches is not None else []
        began = time.monotonic()
        try:
            await definition.undo(ctx, st.args)
        except Exception as e:  # noqa: BLE001
            log.warning("operation %s undo of step %s on %s failed: %s", op_id, st.name,
                        _on(hosts), e)
            errors.append(f"{st.name}: {e}")
        else:
            log.info("operation %s step %s on %s undone in %.0f ms", op_id, st.name,
                     _on(hosts), (time.monotonic() - began) * 1000)
    return errors
