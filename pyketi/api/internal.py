"""``/internal/logging`` (log level) and ``/internal/state/examine/gluster``
(database compared with what the nodes report; heketi ``app_logging.go``,
``app_examiner.go``)."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.db import export
from pyketi.db.models import Brick, Node, Volume
from pyketi.errors import BadRequest, Unprocessable
from pyketi.executors.base import ExecutorError
from pyketi.operations import repair

LEVELS = {"none": logging.CRITICAL + 10, "critical": logging.CRITICAL, "error": logging.ERROR,
          "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
LOGGER = logging.getLogger("pyketi")


def _level_name() -> str:
    level = LOGGER.getEffectiveLevel()
    return next((name for name, value in LEVELS.items() if value == level), "info")


async def get_loglevel(_request: web.Request) -> web.Response:
    return json_response({"loglevel": {"glusterfs": _level_name()}})


async def set_loglevel(request: web.Request) -> web.Response:
    raw = await request.read()
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"request unable to be parsed: {e}") from None
    levels = data.get("loglevel") if isinstance(data, dict) else None
    if not isinstance(levels, dict) or "glusterfs" not in levels:
        raise Unprocessable('Only "glusterfs" logger may be modified')
    wanted = levels["glusterfs"]
    if wanted not in LEVELS:
        raise Unprocessable(f"invalid log level: {wanted}")
    LOGGER.setLevel(LEVELS[wanted])
    return await get_loglevel(request)


async def examine_gluster(request: web.Request) -> web.Response:
    """Compare every volume in the database with ``gluster volume info`` on a node."""
    rt = runtime(request)

    def snapshot(s: Session) -> tuple[dict, dict[str, list[str]], list[tuple]]:
        hosts: dict[str, list[str]] = {}
        for n in s.execute(select(Node).where(Node.state == "online").order_by(Node.id)).scalars():
            hosts.setdefault(n.cluster_id, []).append(n.manage)
        storage = {n.id: n.storage for n in s.execute(select(Node)).scalars()}
        volumes = []
        for v in s.execute(select(Volume).where(Volume.pending_op.is_(None))
                           .order_by(Volume.id)).scalars():
            bricks = s.execute(select(Brick).where(Brick.volume_id == v.id)).scalars()
            volumes.append((v.cluster_id, v.id, v.name,
                            sorted(f"{storage[b.node_id]}:{b.path}" for b in bricks)))
        return export.dump(s), hosts, volumes

    dump, hosts, volumes = await rt.db.read(snapshot)
    report: list[str] = []
    clusters: dict[str, dict] = {}
    for cluster_id, volume_id, name, db_bricks in volumes:
        entry = clusters.setdefault(cluster_id, {"id": cluster_id, "volumes": []})
        info, errors = None, []
        for host in hosts.get(cluster_id, []):
            try:
                info = await rt.executor.volume_info(host, name)
                entry.setdefault("node", host)
                break
            except ExecutorError as e:
                errors.append(f"{host}: {e}")
        if info is None:
            report.append(f"volume {name} ({volume_id}): not found on any node of cluster "
                          f"{cluster_id}: {'; '.join(errors) or 'no online node'}")
            continue
        entry["volumes"].append(name)
        found = sorted(b.name for b in info.bricks)
        for missing in sorted(set(db_bricks) - set(found)):
            report.append(f"volume {name} ({volume_id}): brick {missing} is in the database "
                          "but not in gluster")
        for extra in sorted(set(found) - set(db_bricks)):
            report.append(f"volume {name} ({volume_id}): brick {extra} is in gluster but not "
                          "in the database")
    # LVM, mounts and fstab too (pyketi addition): what `pyketi db repair` would do
    drift = await repair.examine(rt)
    report.extend(f.line() for f in drift if f.kind in repair.NODE_KINDS)
    return json_response({"heketidb": dump, "report": report,
                          "clusters": list(clusters.values()),
                          "drift": repair.report(drift)}, indent=4)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/internal/logging", get_loglevel)
    router.add_post("/internal/logging", set_loglevel)
    router.add_get("/internal/state/examine/gluster", examine_gluster)
