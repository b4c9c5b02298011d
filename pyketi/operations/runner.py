"""The operation runner: submit, execute, retry and recover operations.

One object owns an operation's whole life:

* ``submit`` records it (its *build* runs in one transaction, together with the
  ``/queue`` job, so a bad request raises its 4xx before anything is accepted),
  then runs it in the background and records the job's outcome;
* ``execute`` runs the recorded steps (``engine.run_steps``) and ends the
  operation in the database (the kind's finalize, or undo + rollback);
* a ``retries`` count rebuilds a failed operation with a fresh build (volume
  create: a new placement, heketi ``VOLUME_MAX_RETRIES``);
* ``clean_stale`` / ``recover`` finish or undo what a dead instance (or a failed
  undo) left behind: the background cleaner;
* ``start_job`` answers a change that touches no node through the queue.

It also keeps this instance's liveness (registration + heartbeat), which is what
tells other instances sharing the database whose operations are stale.

Several instances on one database (the *lease*): an operation belongs to the
instance in its ``owner`` column for as long as that instance is alive - its
heartbeat (every ``HEARTBEAT_SECONDS``, or a quarter of the lease when that is
shorter) is younger than ``operation_lease_seconds``,
or, on the same host (same host name, boot and pid namespace: ``host_identity``),
its process still exists.  Only the owner runs, undoes or
retries it (a failed one included); an operation of a dead instance is adopted by
the first cleaner that claims it (``clean_stale``: the claim locks the rows and
moves ``owner``, so a second cleaner skips them).  While another instance is
The cleaner looks (one read) every ``min(lease, RETRY_SECONDS)``
seconds for a dead instance's operations or jobs, not only every
``refresh_time_background_cleaner``, so a killed instance's operation is taken over
about one lease after its last heartbeat (at once when it ran on this host).  An instance that finds its own
registration removed (taken for dead after a stall) registers again and says so.

Steps get a ``StepContext`` (the executor), never the runner itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from typing import Any, Awaitable, Callable

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pyketi.config import Config
from pyketi.db import statements as sql
from pyketi.db.models import Attribute, Instance, Job, Operation, now
from pyketi.db.session import Database
from pyketi.errors import ApiError, Busy
from pyketi.executors.base import Executor
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.engine import CleanupPending, KindDef, OperationFailed
from pyketi.operations.registry import KINDS
from pyketi.operations.steps import StepContext
from pyketi.operations.jobs import REQUEST_ROLE, JobQueue, current_job

_ID = re.compile(r"[0-9a-f]{32}")
log = logging.getLogger("pyketi.operations")

HEARTBEAT_SECONDS = 3.0
RETRY_SECONDS = 5  # cleaner rounds while operations wait for cleanup (node back?)

Build = Callable[[Session, str], Any]      # build(session, op_id): records the operation
Location = str | Callable[[Any], str]      # where the job ends: fixed, or from the result


class OperationRunner:
    def __init__(self, config: Config, db: Database, executor: Executor):
        self.config = config
        self.db = db
        self.context = StepContext(executor, progress=self.report)
        # op id -> {part: text}: how a running operation is going (``/operations/pending``)
        self._progress: dict[str, dict[str, str]] = {}
        # operations whose progress is also written to their row (shown by every
        # instance), and those with a change not written yet (one writer task)
        self._shared: set[str] = set()
        self._unsaved: set[str] = set()
        self._saver: asyncio.Task | None = None
        self.instance_id = new_id()
        # several heartbeats per lease: one late write never makes a live instance "dead"
        self.heartbeat_seconds = max(0.25, min(HEARTBEAT_SECONDS,
                                               config.operation_lease_seconds / 4))
        self.jobs = JobQueue(db, self.instance_id, config.job_retention_seconds)
        self.inflight = 0
        self.running_ops: set[str] = set()
        self.cleanup_rounds = 0
        self._background: list[asyncio.Task] = []
        self._cleaning = asyncio.Lock()
        self._wake_cleaner = asyncio.Event()
        self.draining = False  # SIGTERM received: no new changes are accepted
        # called as observer(kind, result, seconds, op_id) when an operation ends
        self.operation_observers: list[Callable[[str, str, float, str], None]] = []

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        def register(s: Session) -> None:
            s.add(Instance(id=self.instance_id, hostname=host_identity(), pid=os.getpid()))
            if s.get(Attribute, "DB_GENERATION_ID") is None:  # heketi: id of this database
                try:  # several servers (workers) may start at once on a new database
                    with s.begin_nested():
                        s.add(Attribute(key="DB_GENERATION_ID", value=new_id()))
                except IntegrityError:
                    pass  # another one wrote it first
        await self.db.write(register)
        loop = asyncio.get_running_loop()
        self._background.append(loop.create_task(self._heartbeat(), name="heartbeat"))
        self._background.append(loop.create_task(self.jobs.purge_loop(), name="job-purge"))
        if not self.config.disable_background_cleaner:
            self._background.append(loop.create_task(self._cleaner(), name="cleaner"))

    async def stop(self) -> None:
        for task in [*self._background, *([self._saver] if self._saver else [])]:
            task.cancel()
        await asyncio.gather(*self._background, *([self._saver] if self._saver else []),
                             return_exceptions=True)
        await self.jobs.wait_idle(timeout=10)
        try:
            await self.db.write(lambda s: s.execute(
                delete(Instance).where(Instance.id == self.instance_id)))
        except Exception:  # noqa: BLE001 - best effort at shutdown
            log.warning("could not deregister instance", exc_info=True)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self.db.write(self._beat)
            except Exception:  # noqa: BLE001
                log.warning("heartbeat failed", exc_info=True)

    def _beat(self, s: Session) -> None:
        """Renew this instance's lease; when another instance took it for dead (no
        heartbeat for a lease: a stalled process or database), register again."""
        if s.execute(update(Instance).where(Instance.id == self.instance_id)
                     .values(heartbeat=now())).rowcount:
            return
        log.error("this instance (%s) was taken for dead by another instance sharing the "
                  "database (no heartbeat for %d s): its operations may have been taken "
                  "over; registering again", self.instance_id,
                  self.config.operation_lease_seconds)
        s.add(Instance(id=self.instance_id, hostname=host_identity(), pid=os.getpid()))

    # -- throttle ------------------------------------------------------------
    def reserve_slot(self) -> None:
        if self.inflight >= self.config.max_inflight_operations:
            raise Busy()
        self.inflight += 1

    def release_slot(self) -> None:
        self.inflight = max(0, self.inflight - 1)

    # -- submit --------------------------------------------------------------
    async def submit(self, build: Build, location: Location = "", *, throttled: bool = True,
                     retries: int = 0) -> str:
        """Record an operation (``build(session, op_id)``, one transaction that raises
        ApiErrors synchronously) with its job, then run it in the background.

        The job ends at ``location`` (or ``location(result)``). A failed run is
        undone and built afresh up to ``retries`` times. Returns the job id (202).
        """
        role = REQUEST_ROLE.get()  # here: the build runs in a worker thread
        watchers = self.jobs.watchers()
        op_id = new_id()

        def record(s: Session) -> str:
            build(s, op_id)
            job_id = new_id()
            conn = s.connection()
            sql.insert_job(conn, dict(
                id=job_id, status="pending", owner=self.instance_id, operation_id=op_id,
                role=role, location="", error="", created_at=now(), finished_at=None))
            for watcher in watchers:
                watcher.accepted(conn, job_id)
            return job_id

        job_id = await self._accept(record, throttled)
        self.running_ops.add(op_id)
        log.info("operation %s accepted: job %s", op_id, job_id)

        async def work() -> str:
            current = op_id
            try:
                for attempt in range(1 + max(0, retries)):
                    try:
                        result = await self.execute(current, location)
                        return location(result) if callable(location) else location
                    except OperationFailed as e:
                        if attempt >= retries or isinstance(e, CleanupPending):
                            raise  # CleanupPending: the rows wait for the cleaner
                        log.warning("operation %s failed (attempt %d: %s); retrying with a "
                                    "fresh build", current, attempt + 1, e)
                        current = await self._rebuild(build, current, e)
                raise AssertionError("unreachable")
            finally:
                self.running_ops.discard(current)
                if throttled:
                    self.release_slot()

        self.jobs.spawn(job_id, work, role, watchers)
        return job_id

    async def _rebuild(self, build: Build, failed_op: str, error: Exception) -> str:
        """Build a failed operation again under a new id; its job follows it."""
        self.running_ops.discard(failed_op)
        next_op = new_id()

        def rebuild(s: Session) -> None:
            build(s, next_op)
            s.execute(update(Job).where(Job.operation_id == failed_op)
                      .values(operation_id=next_op))
        try:
            await self.db.write(rebuild)
        except ApiError as again:
            raise OperationFailed(f"{error} (retry: {again.message})") from again
        self.running_ops.add(next_op)
        return next_op

    async def start_job(self, work: Callable[[], Awaitable[str]], *,
                        prepare: Callable[[Session], None] | None = None,
                        throttled: bool = False) -> str:
        """A queue job that runs no recorded operation: ``prepare(session)`` (a
        database change that may raise ApiErrors) is committed with the job, then
        ``work()`` runs in the background and returns the location."""
        role = REQUEST_ROLE.get()
        watchers = self.jobs.watchers()

        def record(s: Session) -> str:
            if prepare is not None:
                prepare(s)
            job_id = new_id()
            s.add(Job(id=job_id, status="pending", owner=self.instance_id, role=role))
            for watcher in watchers:
                watcher.accepted(s.connection(), job_id)
            return job_id

        job_id = await self._accept(record, throttled)

        async def run() -> str:
            try:
                return await work()
            finally:
                if throttled:
                    self.release_slot()

        self.jobs.spawn(job_id, run, role, watchers)
        return job_id

    async def _accept(self, record: Callable[[Session], str], throttled: bool) -> str:
        if throttled:
            self.reserve_slot()
        try:
            return await self.db.write(record)
        except BaseException:
            if throttled:
                self.release_slot()
            raise

    # -- execute -------------------------------------------------------------
    async def record(self, build: Build) -> str:
        """Record an operation outside a job (one of a job's several); returns its id."""
        op_id = new_id()
        await self.db.write(lambda s: build(s, op_id))
        return op_id

    async def execute(self, op_id: str, location: Location | None = None) -> Any:
        """Run a freshly built operation to its end (success or rolled-back failure).

        With ``location`` (the job's result location, or a function of the finalize
        result) the success also ends the current job in the same transaction."""
        since = time.monotonic()
        built = engine.take_built(op_id)  # built by this process: no need to read it back
        if built is None:
            op = await self.db.read(lambda s: s.get(Operation, op_id))
            built = (op.type, op.spec)
        kind, spec = built
        kd = KINDS[kind]
        steps = engine.steps_of(spec)
        started: list[int] = []
        log.info("operation %s (%s) started: %d steps, objects %s", op_id, kind, len(steps),
                 _spec_objects(spec))
        try:
            results = await engine.run_steps(self.context, steps, started, op_id, kind)
        except Exception as e:  # noqa: BLE001
            message = engine.failure_text(e)
            log.error("operation %s (%s) failed after %.2f s: %s", op_id, kind,
                      time.monotonic() - since, message)
            if kd.recovery == "rollback":
                try:  # a step that cannot be undone took effect anyway: finish instead
                    resume_at = await engine.point_of_no_return(self.context, steps, started,
                                                                op_id)
                    if resume_at is not None:
                        results = await engine.run_steps(self.context, steps[resume_at + 1:],
                                                         None, op_id)
                        return await self._finish(op_id, kind, kd, results, location, spec,
                                                  since)
                    undo_errors = await engine.undo_steps(self.context, steps, started, op_id)
                except Exception as again:  # noqa: BLE001 - the nodes cannot tell now
                    undo_errors = [str(again) or again.__class__.__name__]
                if undo_errors:
                    await self.db.write(_mark_failed(op_id, "; ".join(undo_errors)))
                    log.warning("operation %s failed (%s); undo left to the background "
                                "cleaner: %s", op_id, message, "; ".join(undo_errors))
                    self.cleanup_later()
                    self._ended(kind, op_id, "failed", since)
                    raise CleanupPending(message) from e
            await self.db.write(_db_end(op_id, kd, kd.rollback, {}, None))
            result = "rolled_back" if kd.recovery == "rollback" else "failed"
            log.info("operation %s (%s) %s in %.2f s, objects %s", op_id, kind,
                     result.replace("_", " "), time.monotonic() - since, _spec_objects(spec))
            self._ended(kind, op_id, result, since)
            raise OperationFailed(message) from e
        return await self._finish(op_id, kind, kd, results, location, spec, since)

    async def _finish(self, op_id: str, kind: str, kd: KindDef, results: dict,
                      location: Location | None, spec: dict, since: float) -> Any:
        """The operation's steps are done: its end in the database (with the job's)."""
        end = _db_end(op_id, kd, kd.finalize, results, None, location, spec)
        value = await self.db.write(end)
        job = current_job()
        if job is not None and end.job_written:  # type: ignore[attr-defined]
            job.finished = True  # committed with the operation's end: nothing left to write
        log.info("operation %s (%s) finished in %.2f s, objects %s", op_id, kind,
                 time.monotonic() - since, _spec_objects(spec))
        self._ended(kind, op_id, "done", since)
        return value

    async def recover(self, op: Operation) -> None:
        """Clean up an operation whose process died (or whose undo failed before)."""
        kd = KINDS.get(op.type)
        if kd is None:
            log.error("operation %s has unknown kind %s; leaving it", op.id, op.type)
            return
        steps = engine.stored_steps(op)
        message = "operation interrupted (pyketi restarted) and rolled back"
        since = time.monotonic()
        log.info("cleaner: operation %s (%s) taken over (%s), objects %s", op.id, op.type,
                 op.status or "owner gone", _objects(op))
        if op.progress:  # its instance showed it to all: say who has it now
            self.report(op.id, "task", f"taken over by the cleaner of instance "
                                       f"{self.instance_id} ({op.status or 'owner gone'})")
        try:
            resume_at = None
            if kd.recovery == "rollback":  # a step that cannot be undone took effect?
                resume_at = await engine.point_of_no_return(
                    self.context, steps, list(range(len(steps))), op.id)
            if kd.recovery == "forward" or resume_at is not None:
                rest = steps if resume_at is None else steps[resume_at + 1:]
                results = await engine.run_steps(self.context, rest, None, op.id)
                await self.db.write(_db_end(
                    op.id, kd, kd.finalize, results,
                    "operation interrupted (pyketi restarted); completed by cleanup"))
                log.info("cleaner: operation %s (%s) completed in %.2f s", op.id, op.type,
                         time.monotonic() - since)
                self._ended(op.type, op.id, "cleaned_done", since)
                return
            errors = await engine.undo_steps(self.context, steps, list(range(len(steps))),
                                             op.id)
            if errors:
                raise OperationFailed("; ".join(errors))
            await self.db.write(_db_end(op.id, kd, kd.rollback, {}, message))
            log.info("cleaner: operation %s (%s) rolled back in %.2f s", op.id, op.type,
                     time.monotonic() - since)
            self._ended(op.type, op.id, "cleaned_rolled_back", since)
        except Exception as e:  # noqa: BLE001
            log.warning("cleanup of operation %s failed, will retry: %s", op.id, e)
            await self.db.write(_mark_failed(op.id, str(e)))
            raise

    # -- progress ------------------------------------------------------------
    def report(self, op_id: str, part: str, text: str) -> None:
        """How a running operation is going: ``part`` (``task``, ``step``, ``heal``...)
        is replaced by ``text``.  Kept while the operation runs in this process and
        shown by ``/operations/pending``; every part but the step is also logged.
        An operation that reports more than its steps (a device or node removal: which
        brick, the heal state) has its progress written to its row too, at each such
        report and each step after it, so every instance sharing the database shows it;
        a step alone (a create's) costs no write."""
        parts = self._progress.setdefault(op_id, {})
        parts[part] = text
        if len(self._progress) > 4096:  # bounded: an operation that never ended
            gone = next(iter(self._progress))
            self._progress.pop(gone)
            self._shared.discard(gone)
        if part != "step":
            log.info("operation %s %s: %s", op_id, part, text)
            self._shared.add(op_id)
        if op_id in self._shared:
            self._save_progress(op_id)

    def _save_progress(self, op_id: str) -> None:
        """Write ``op_id``'s progress to its row soon (in order, coalesced: one writer)."""
        self._unsaved.add(op_id)
        if self._saver is not None and not self._saver.done():
            return  # the running writer takes it
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop: no server to show it
        self._saver = loop.create_task(self._write_progress(), name="progress")

    async def _write_progress(self) -> None:
        while self._unsaved:
            texts = {op_id: self.progress(op_id) for op_id in self._unsaved}
            self._unsaved.clear()

            def write(s: Session) -> None:
                for op_id, text in texts.items():
                    s.execute(update(Operation).where(Operation.id == op_id)
                              .values(progress=text))
            try:
                await self.db.write(write)
            except Exception:  # noqa: BLE001 - progress never fails an operation
                log.warning("could not record the progress of operation(s) %s",
                            ", ".join(texts), exc_info=True)

    def progress(self, op_id: str) -> str:
        """The progress of an operation running here ("" when not running here; the
        row's ``progress`` column has what its instance wrote)."""
        parts = self._progress.get(op_id) or {}
        order = ["task", "heal", "step"]
        keys = sorted(parts, key=lambda k: order.index(k) if k in order else len(order))
        return "; ".join(parts[k] for k in keys)

    def _ended(self, kind: str, op_id: str, result: str, since: float) -> None:
        """Tell the observers (metrics, audit) how an operation ended; an observer
        never breaks an operation."""
        self._progress.pop(op_id, None)
        self._shared.discard(op_id)
        self._unsaved.discard(op_id)
        for observe in self.operation_observers:
            try:
                observe(kind, result, time.monotonic() - since, op_id)
            except Exception:  # noqa: BLE001
                log.warning("operation observer failed", exc_info=True)

    async def drain(self, timeout: float) -> list[str]:
        """SIGTERM: let running jobs finish for up to ``timeout`` seconds; what is still
        running then is cancelled and left, recorded, to the background cleaner of the
        next start.  Returns the ids of the operations left."""
        self.draining = True
        tasks = list(self.jobs.tasks)
        if tasks:
            log.info("shutdown: waiting up to %g s for %d running job(s)", timeout, len(tasks))
            await asyncio.wait(tasks, timeout=timeout)
        left = sorted(self.running_ops)
        if left:
            kinds = await self.db.read(lambda s: dict(s.execute(
                select(Operation.id, Operation.type).where(Operation.id.in_(left))).all()))
            for op_id in left:
                log.warning("shutdown: operation %s (%s) still running after %g s; left to "
                            "the background cleaner", op_id, kinds.get(op_id, "?"), timeout)
        pending = [t for t in self.jobs.tasks if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return left

    # -- cleaner -------------------------------------------------------------
    async def _cleaner(self) -> None:
        await asyncio.sleep(self.config.start_time_background_cleaner)
        while True:
            try:
                await self.clean_stale()
            except Exception:  # noqa: BLE001
                log.warning("background cleanup round failed", exc_info=True)
            await self._until_next_round()

    def cleanup_later(self) -> None:
        """An operation was left ``failed`` for the cleaner (e.g. its node did not answer)."""
        self._wake_cleaner.set()

    async def _until_next_round(self) -> None:
        """Wait for the next cleanup round: ``refresh_time_background_cleaner`` at the
        latest; sooner when something is left to clean, looked at (one read) every
        ``min(lease, RETRY_SECONDS)`` s: an instance sharing the database that died with
        operations or jobs (it may have started after our last round), or one of our
        own operations that failed and waits for its undo (a node back?).  A newly
        failed operation wakes the cleaner, which then waits one such pause."""
        tick = max(1, min(self.config.operation_lease_seconds, RETRY_SECONDS))
        deadline = time.monotonic() + self.config.refresh_time_background_cleaner
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self._wake_cleaner.wait(), min(tick, left))
            except asyncio.TimeoutError:
                pass
            else:
                self._wake_cleaner.clear()
                await asyncio.sleep(tick)
                return
            try:
                if await self.db.read(self._left_to_clean):
                    return
            except Exception:  # noqa: BLE001 - looked at again next tick
                log.warning("background cleaner: could not read the database", exc_info=True)

    def _left_to_clean(self, s: Session) -> bool:
        if self._dead_owners(s):
            return True
        rows = s.execute(select(Operation.id).where(
            Operation.owner == self.instance_id, Operation.status == "failed")).scalars()
        return any(op_id not in self.running_ops for op_id in rows)

    def _dead_owners(self, s: Session) -> set[str]:
        """Instances (other than us) that no longer run."""
        alive: set[str] = {self.instance_id}
        lease = self.config.operation_lease_seconds
        host = host_identity()
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
                # a live instance's operations are its own (a failed one too: its cleaner
                # retries it); ours when failed, and every one of a dead instance
                stmt = select(Operation).where(or_(
                    Operation.owner.in_(dead),
                    and_(Operation.owner == self.instance_id, Operation.status == "failed")))
                if only is not None:
                    stmt = stmt.where(Operation.id.in_(only))
                if not self.db.is_sqlite:
                    # a second cleaner waits here, then sees our claim (owner) and skips
                    stmt = stmt.with_for_update()
                ops = list(s.execute(stmt).scalars())
                for op in ops:
                    if op.owner in dead and op.status == "":
                        op.status = "stale"
                    op.owner = self.instance_id
                # jobs whose process died without an operation to clean (none, or gone)
                s.execute(update(Job).where(
                    Job.owner.in_(dead), Job.status == "pending",
                    or_(Job.operation_id.is_(None),
                        Job.operation_id.not_in(select(Operation.id))))
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
                    await self.recover(op)
                    cleaned += 1
                except Exception:  # noqa: BLE001
                    continue
            self.cleanup_rounds += 1
            return cleaned


def _db_end(op_id: str, kd: KindDef, fn: engine.DbFn, results: dict,
            job_error: str | None, location: Location | None = None,
            spec: dict | None = None) -> Callable[[Session], Any]:
    """The operation's last transaction; with ``location`` it also records the end of the
    current job (one commit instead of two; ``end.job_written`` tells whether it did).
    ``spec``: the operation's spec as this process built it, so the row need not be read."""
    job = current_job() if location is not None else None

    def end(s: Session) -> Any:
        end.job_written = False  # type: ignore[attr-defined] # set again on a re-run
        conn = s.connection()
        if spec is not None:
            if not sql.delete_operation(conn, op_id):
                return None  # gone (cleaned up by another process)
            data = spec["data"]
        else:
            data = conn.execute(select(Operation.spec).where(Operation.id == op_id)).scalar()
            if data is None:
                return None
            data = data["data"]
            sql.delete_operation(conn, op_id)
        value = fn(s, op_id, kd.data.from_json(data), results)
        if job_error is not None:
            s.execute(update(Job).where(Job.operation_id == op_id, Job.status == "pending")
                      .values(status="failed", error=job_error, finished_at=now()))
        if job is not None:
            job.finish_in(s, location(value) if callable(location) else location)
            end.job_written = True  # type: ignore[attr-defined]
        return value
    end.job_written = False  # type: ignore[attr-defined]
    return end


def _spec_objects(spec: dict) -> str:
    """The object ids an operation's data names (volume, bricks, device...), for its log lines."""
    ids: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and _ID.fullmatch(value):
            ids.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(spec.get("data"))
    return ",".join(dict.fromkeys(ids)) or "-"


def _objects(op: Operation) -> str:
    """The ids of the objects an operation creates or removes, for its log lines."""
    ids = [c.get("id", "") for c in (op.changes or []) if isinstance(c, dict)]
    return ",".join(i for i in ids if i) or "-"


def _mark_failed(op_id: str, error: str) -> Callable[[Session], None]:
    def fn(s: Session) -> None:
        op = s.get(Operation, op_id)
        if op is not None:
            op.status = "failed"
            op.error = error
    return fn


def host_identity() -> str:
    """Where this process runs, for the "same host: does its pid still exist?" shortcut:
    host name, boot id and pid namespace.  Two containers that share a host name (host
    network) but not their pids are not the same host here: a pid seen from one says
    nothing about the other, so only the lease tells whether it is alive."""
    parts = [socket.gethostname()]
    try:
        parts.append(open("/proc/sys/kernel/random/boot_id", encoding="ascii").read()[:8])
    except OSError:
        pass
    try:
        parts.append(f"pidns:{os.stat('/proc/self/ns/pid').st_ino}")
    except OSError:
        pass
    return " ".join(parts)[:255]


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
