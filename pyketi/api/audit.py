"""The audit trail of accepted changes, and ``GET /audit`` (admin only).

Every change the server accepts (a non-GET request answered 2xx, and the async
``GET /devices/{id}/resync``) is recorded: who (role, the token's ``sub`` claim when
present, remote address), what (method, route pattern, kind), which objects (the id
in the path, the created object's id), the HTTP status, the result and the duration.
A synchronous change is ``done`` at once; an accepted (202) one is ``accepted`` until
its job ends, then ``done`` or ``failed`` (with the error) and its duration runs to
that end.  Refused requests (4xx/5xx) are not changes and are only in the access log.

Records older than ``audit_retention_days`` are purged in the background (hourly).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from aiohttp import web

from pyketi import logcontext
from pyketi.api import context
from pyketi.api.access import requester_role, route_pattern
from pyketi.api.responses import json_response
from pyketi.api.validation import Errors, escape_controls
from pyketi.db import audit as store
from pyketi.ids import is_valid_id
from pyketi.operations.runtime import Runtime

log = logging.getLogger("pyketi.audit")

SUBJECT = web.RequestKey("subject", str) if hasattr(web, "RequestKey") else "pyketi.subject"
KINDS = {
    ("POST", "/clusters"): "cluster.create", ("DELETE", "/clusters/{id}"): "cluster.delete",
    ("POST", "/clusters/{id}/flags"): "cluster.flags",
    ("POST", "/nodes"): "node.add", ("DELETE", "/nodes/{id}"): "node.delete",
    ("POST", "/nodes/{id}/state"): "node.state", ("POST", "/nodes/{id}/tags"): "node.tags",
    ("POST", "/devices"): "device.add", ("DELETE", "/devices/{id}"): "device.delete",
    ("POST", "/devices/{id}/state"): "device.state",
    ("GET", "/devices/{id}/resync"): "device.resync",
    ("POST", "/devices/{id}/tags"): "device.tags",
    ("POST", "/volumes"): "volume.create", ("DELETE", "/volumes/{id}"): "volume.delete",
    ("POST", "/volumes/{id}/expand"): "volume.expand",
    ("POST", "/volumes/{id}/clone"): "volume.clone",
    ("POST", "/volumes/{id}/block-restriction"): "volume.block-restriction",
    ("POST", "/bricks/to-evict/{id}"): "brick.evict",
    ("POST", "/operations/pending/cleanup"): "operations.cleanup",
    ("POST", "/admin"): "admin.state", ("POST", "/internal/logging"): "logging.level",
}
RESULTS = ("accepted", "done", "failed")
PURGE_SECONDS = 3600.0
DAY = 86400.0


@dataclass
class Entry:
    """The audit record of the change being handled; the job it starts shares it."""

    started: float
    objects: list[str] = field(default_factory=list)
    record_id: int | None = None
    result: str = "accepted"
    error: str = ""
    ended: float | None = None
    request: web.Request | None = None
    watcher: "RecordWatcher | None" = None  # the record is written with its job's rows


ENTRY: ContextVar[Entry | None] = ContextVar("pyketi_audit_entry", default=None)


def claims_subject(claims: dict) -> str:
    """The ``sub`` claim of a verified token ("" if none)."""
    sub = claims.get("sub")
    return escape_controls(sub[:255]) if isinstance(sub, str) else ""


def audited(request: web.Request, route: str, status: int) -> bool:
    if not 200 <= status < 300:
        return False
    return request.method not in ("GET", "HEAD") or (request.method, route) in KINDS


def created_id(response: web.StreamResponse) -> str | None:
    """The id of the object a synchronous create answered with (POST /clusters)."""
    if response.status != 201 or not isinstance(response, web.Response) or not response.body:
        return None
    try:
        oid = json.loads(response.body).get("id")
    except (ValueError, TypeError, AttributeError):
        return None
    return oid if isinstance(oid, str) and is_valid_id(oid) else None


@web.middleware
async def audit_middleware(request: web.Request, handler):
    entry = Entry(started=time.time(), request=request)
    path_id = request.match_info.get("id") if request.match_info else None
    if path_id:
        entry.objects.append(path_id.lower())
    token = ENTRY.set(entry)
    try:
        response = await handler(request)
    finally:
        ENTRY.reset(token)
    route = route_pattern(request)
    if entry.record_id is None and audited(request, route, response.status):
        await _record(request, route, response, entry)
    return response


def _fields(request: web.Request, route: str, status: int, entry: Entry,
            job_id: str | None) -> dict:
    return dict(
        time=entry.started, role=requester_role(request), subject=request.get(SUBJECT, ""),
        remote=(request.remote or "")[:64], method=request.method, route=route[:128],
        kind=KINDS.get((request.method, route), f"{request.method} {route}")[:64],
        objects=" ".join(entry.objects), status=status, result=entry.result,
        duration=(entry.ended or time.time()) - entry.started,
        request_id=logcontext.REQUEST_ID.get(), job_id=job_id, error=entry.error)


class RecordWatcher:
    """The record of a change answered by a job (``202``), written in the job's own
    transactions (``jobs.JobWatcher``): inserted ``accepted`` with the job's row, when
    the change is accepted, and finished with the job's end.  No accepted change
    without its record, and no transaction of its own on the hot path."""

    def __init__(self, request: web.Request, route: str, entry: Entry):
        self.request, self.route, self.entry = request, route, entry
        self.request_id = logcontext.REQUEST_ID.get()  # the build may run in a thread
        self.ended_in_job = False

    def accepted(self, conn, job_id: str) -> None:
        fields = _fields(self.request, self.route, 202, self.entry, job_id)
        fields["request_id"] = self.request_id
        self.entry.record_id = store.insert_conn(conn, fields)

    def ended(self, conn, location: str, error: str) -> None:
        entry = self.entry
        assert entry.record_id is not None
        objects = list(entry.objects)
        made = location.rsplit("/", 1)[1] if location else ""
        if made and made not in objects:
            objects.append(made)
        store.finish_conn(conn, entry.record_id, result="failed" if error else "done",
                          error=error, objects=" ".join(objects),
                          duration=time.time() - entry.started)
        self.ended_in_job = True


def record_watcher() -> RecordWatcher | None:
    """``jobs.JobQueue.watcher_factories``: the watcher of a job submitted by an audited
    request (None for a job no request started, or a second job of the same request)."""
    entry = ENTRY.get()
    if entry is None or entry.request is None or entry.watcher is not None \
            or entry.record_id is not None:
        return None
    route = route_pattern(entry.request)
    if not audited(entry.request, route, 202):
        return None
    entry.watcher = RecordWatcher(entry.request, route, entry)
    return entry.watcher


async def _record(request: web.Request, route: str, response: web.StreamResponse,
                  entry: Entry) -> None:
    rt = context.runtime(request)
    new_id = created_id(response)
    if new_id:
        entry.objects.append(new_id)
    if response.status != 202:
        entry.result, entry.ended = "done", time.time()
    # the job may have ended already (queue.settle_middleware)
    fields = _fields(request, route, response.status, entry, _job_id(response))
    try:
        entry.record_id = await rt.db.write(lambda s: store.insert(s, **fields))
        if entry.result != fields["result"]:  # the job ended while the record was written
            await _finish(rt, entry)
    except Exception:  # noqa: BLE001 - the change is made; its record is best effort
        log.error("could not write the audit record of %s %s", request.method, route,
                  exc_info=True)


def _job_id(response: web.StreamResponse) -> str | None:
    location = response.headers.get("Location", "")
    return location.rsplit("/", 1)[1] if response.status == 202 and location else None


async def _finish(rt: Runtime, entry: Entry) -> None:
    record_id = entry.record_id
    assert record_id is not None
    await rt.db.write(lambda s: store.finish(
        s, record_id, result=entry.result, error=entry.error, objects=" ".join(entry.objects),
        duration=(entry.ended or time.time()) - entry.started))


def job_finished_hook(rt: Runtime):
    async def hook(_job_id: str, location: str, error: str) -> None:
        entry = ENTRY.get()
        if entry is None:  # a job no audited request started (the cleaner's)
            return
        entry.result, entry.error, entry.ended = ("failed" if error else "done"), error, \
            time.time()
        made = location.rsplit("/", 1)[1] if location else ""
        if made and made not in entry.objects:
            entry.objects.append(made)
        if entry.watcher is not None and entry.watcher.ended_in_job:
            return  # finished in the transaction that ended the job
        if entry.record_id is not None:
            await _finish(rt, entry)
    return hook


def cleaner_observer(rt: Runtime):
    """An operation the background cleaner ended (after a restart, or after a failed
    undo) finishes the audit record its request left ``accepted``."""
    tasks: set[asyncio.Task] = set()

    def observe(_kind: str, result: str, _seconds: float, op_id: str) -> None:
        if not result.startswith("cleaned_"):
            return
        task = asyncio.get_running_loop().create_task(_finish_cleaned(rt, op_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return observe


async def _finish_cleaned(rt: Runtime, op_id: str) -> None:
    try:
        await rt.db.write(lambda s: store.finish_cleaned(s, op_id, time.time()))
    except Exception:  # noqa: BLE001 - the record stays 'accepted'
        log.warning("could not finish the audit record of operation %s", op_id, exc_info=True)


# -- GET /audit -------------------------------------------------------------------

def parse_filters(query) -> store.Filters:
    errors = Errors()
    f = store.Filters()

    def number(name: str) -> float | None:
        raw = query.get(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            errors.add(name, "must be a number (Unix time)")
            return None
        return value

    f.since, f.until = number("since"), number("until")
    role = query.get("role")
    if role is not None and role not in ("admin", "user"):
        errors.add("role", "must be admin or user")
    f.role = role
    result = query.get("result")
    if result is not None and result not in RESULTS:
        errors.add("result", "must be one of " + ", ".join(RESULTS))
    f.result = result
    obj = query.get("object")
    if obj is not None and not (obj and len(obj) <= 64 and all(
            c in "0123456789abcdefABCDEF" for c in obj)):
        errors.add("object", "must be an id")
    f.object_id = obj.lower() if obj else None
    for name in ("limit", "marker"):
        raw = query.get(name)
        if raw is None:
            continue
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            errors.add(name, "must be a positive integer")
            continue
        setattr(f, name, int(raw))
    if not 1 <= f.limit <= store.MAX_LIMIT:
        errors.add("limit", f"must be between 1 and {store.MAX_LIMIT}")
    errors.raise_if_any()
    return f


async def list_audit(request: web.Request) -> web.Response:
    filters = parse_filters(request.query)
    records, marker = await context.runtime(request).db.read(
        lambda s: store.page(s, filters))
    body: dict = {"audit": records}
    if marker:
        body["next"] = marker
    return json_response(body)


# -- retention ----------------------------------------------------------------------

async def purge_once(rt: Runtime) -> int:
    days = rt.config.audit_retention_days
    if days <= 0:
        return 0
    purged = await rt.db.write(lambda s: store.purge(s, time.time() - days * DAY))
    if purged:
        log.info("purged %d audit records older than %g days", purged, days)
    return purged


async def purge_loop(rt: Runtime) -> None:
    while True:
        try:
            await purge_once(rt)
        except Exception:  # noqa: BLE001 - retried next round
            log.warning("purge of old audit records failed", exc_info=True)
        await asyncio.sleep(PURGE_SECONDS)


PURGER: web.AppKey[list[asyncio.Task]] = web.AppKey("audit_purger", list)


async def _start_purger(app: web.Application) -> None:
    rt = app[context.RUNTIME]
    app[PURGER].append(asyncio.get_running_loop().create_task(purge_loop(rt),
                                                              name="audit-purge"))


async def _stop_purger(app: web.Application) -> None:
    for task in app[PURGER]:
        task.cancel()
    await asyncio.gather(*app[PURGER], return_exceptions=True)


def setup(app: web.Application, rt: Runtime) -> None:
    """Route, job hook and the retention task of the audit trail."""
    app.router.add_get("/audit", list_audit)
    rt.runner.jobs.finished_hooks.append(job_finished_hook(rt))
    rt.runner.jobs.watcher_factories.append(record_watcher)
    rt.runner.operation_observers.append(cleaner_observer(rt))
    app[PURGER] = []
    app.on_startup.append(_start_purger)
    app.on_cleanup.append(_stop_purger)
