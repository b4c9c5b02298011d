"""``/internal/logging`` (log level) and ``/internal/state/examine/gluster``
(database compared with what the nodes report; heketi ``app_logging.go``,
``app_examiner.go``)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from pyketi.api.context import runtime
from pyketi.api.responses import json_response
from pyketi.api.validation import escape_controls, read_json
from pyketi.db import export, queries
from pyketi.errors import BadRequest, Unprocessable
from pyketi.executors.base import ExecutorError
from pyketi.logging_setup import LEVELS, LOGGER, level_name, set_level  # noqa: F401 (LOGGER)
from pyketi.operations import repair


async def get_loglevel(_request: web.Request) -> web.Response:
    return json_response({"loglevel": {"glusterfs": level_name()}})


async def set_loglevel(request: web.Request) -> web.Response:
    data = await read_json(request, error_status=400)
    levels = data.get("loglevel") if isinstance(data, dict) else None
    if levels is not None and not (isinstance(levels, dict) and all(
            isinstance(v, (str, type(None))) for v in levels.values())):
        # Go: json.Unmarshal into map[string]string fails
        raise BadRequest("request unable to be parsed: loglevel must map logger names to "
                         "level names")
    if not levels or "glusterfs" not in levels:
        raise Unprocessable('Only "glusterfs" logger may be modified')
    wanted = levels["glusterfs"] or ""  # Go: null leaves the string empty
    if wanted not in LEVELS:
        raise Unprocessable(f"invalid log level: {escape_controls(wanted)}")
    set_level(wanted)
    return await get_loglevel(request)


async def examine_gluster(request: web.Request) -> web.Response:
    """Compare every volume in the database with ``gluster volume info`` on a node."""
    rt = runtime(request)

    def snapshot(s: Session) -> tuple[dict, dict[str, list[str]], list[tuple]]:
        return export.dump(s), *queries.gluster_view(s)

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
