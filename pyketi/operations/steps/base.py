"""What every step is made of: its context, its arguments, its definition.

A step's arguments are a dataclass (``StepArgs``, a ``Record``): the builder
creates it, it is stored as JSON in ``Operation.spec`` and read back by whoever
runs or undoes the step, possibly a new process after a crash. The JSON keys
are the stored format: renaming a field breaks the undo of operations recorded
before an upgrade.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pyketi.executors.base import Executor
from pyketi.operations.record import Record


@dataclass(frozen=True)
class StepContext:
    """What a step may use: the node executor (steps never see the database), and
    ``report`` to tell the operator how the operation is going (``/operations``)."""

    executor: Executor
    # progress(op_id, part, text): kept by the runner, shown by ``/operations/pending``
    progress: Callable[[str, str, str], None] | None = None
    op_id: str = ""

    def report(self, part: str, text: str) -> None:
        """Progress of this operation: ``part`` names what ``text`` replaces
        (``step``, ``heal``...); never fails the step."""
        if self.progress is not None and self.op_id:
            self.progress(self.op_id, part, text)


class StepArgs(Record):
    """Base of step argument dataclasses (stored as JSON in the operation row)."""


StepFn = Callable[[StepContext, Any], Awaitable[Any]]


@dataclass(frozen=True)
class StepDef:
    """A step: its argument type, what it does and how it is undone."""

    args: type[StepArgs]
    do: StepFn
    undo: StepFn | None = None
    # hosts ``do`` changes: if one is known unreachable, the step fails before
    # touching any node and needs no undo
    touches: Callable[[Any], list[str]] | None = None
    # a step that cannot be undone once it took effect (add-brick, replace-brick: the
    # bricks serve the volume, data may be on them): ``resume`` asks the nodes whether it
    # did, completes it when it did in part, and returns True; the rollback operation is
    # then finished forward from the next step instead of undone (after a crash, or a
    # failure that came after the nodes did the work). False: undo as usual.
    resume: StepFn | None = None


@dataclass(frozen=True)
class Step:
    """One step of an operation: a registered name and its arguments."""

    name: str
    args: StepArgs

    def to_json(self) -> dict:
        return {"name": self.name, "args": self.args.to_json()}


async def gather_hosts(calls: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    """Run one coroutine per host in parallel; raise the first error after all finished."""
    hosts = list(calls)
    outcomes = await asyncio.gather(*(calls[h]() for h in hosts), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return dict(zip(hosts, outcomes))


def pair(value: Any) -> tuple[str, str]:
    """A (storage host, brick path) pair read back from JSON (a list there)."""
    host, path = value
    return (host, path)
