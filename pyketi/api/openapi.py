"""The OpenAPI 3.1 document of pyketi's REST API, served at ``GET /openapi.json``.

Pure data, built once: heketi's request and response shapes
(``pkg/glusterfs/api/types.go``), its status codes and error texts (``text/plain``,
Go ``http.Error``), the asynchronous flow (``202`` + ``Location: /queue/<id>``,
then ``/queue/<id>`` answers ``200 X-Pending``, ``303`` to the resource, ``204`` or
``500``) and heketi's JWT (HMAC, ``iss`` = role, ``qsh`` = sha256 of ``METHOD&path``).

``tests/api/test_openapi.py`` checks it against openapi-spec-validator, checks
that it lists exactly the routes of the aiohttp router, and fuzzes a real server
with schemathesis against it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pyketi import __version__

ID_PATTERN = "^[A-Fa-f0-9]+$"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
HEALCHECK: Schema = {"type": "string", "enum": ["", "enable", "disable"]}

SCHEMAS: dict[str, Schema] = {
    "Id": {"type": "string", "pattern": "^[a-f0-9]{32}$", "description": "32 hex digits"},
    "Tags": {"type": "object", "additionalProperties": STR, "maxProperties": 32},
    "ClusterFlags": obj({"block": BOOL, "file": BOOL}),
    "ClusterInfo": obj({"id": ref("Id"), "nodes": array(ref("Id")),
                        "volumes": array(ref("Id")), "block": BOOL, "file": BOOL,
                        "blockvolumes": array(ref("Id"))},
                       ["id", "nodes", "volumes", "block", "file", "blockvolumes"]),
    "ClusterList": obj({"clusters": array(ref("Id"))}, ["clusters"]),
    "Hostnames": obj({"manage": array(STR), "storage": array(STR)}),
    "NodeAddRequest": obj({"zone": INT, "hostnames": ref("Hostnames"), "cluster": STR,
                           "tags": ref("Tags")}),
    "Brick": obj({"id": ref("Id"), "path": STR, "device": ref("Id"), "node": ref("Id"),
                  "volume": ref("Id"), "size": INT},
                 ["id", "path", "device", "node", "volume", "size"]),
    "Storage": obj({"total": INT, "free": INT, "used": INT}, ["total", "free", "used"]),
    "DeviceInfo": obj({"name": STR, "tags": ref("Tags"), "storage": ref("Storage"),
                       "id": ref("Id"), "paths": array(STR), "pv_uuid": STR,
                       "state": {"type": "string", "enum": ["online", "offline", "failed"]},
                       "bricks": array(ref("Brick"))},
                      ["name", "storage", "id", "state", "bricks"]),
    "NodeInfo": obj({"zone": INT, "hostnames": ref("Hostnames"), "cluster": ref("Id"),
                     "tags": ref("Tags"), "id": ref("Id"),
                     "state": {"type": "string", "enum": ["online", "offline", "failed"]},
                     "devices": array(ref("DeviceInfo"))},
                    ["zone", "hostnames", "cluster", "id", "state", "devices"]),
    "StateRequest": obj({"state": {"type": "string", "enum": ["online", "offline", "failed"]},
                         "healcheck": HEALCHECK}, ["state"]),
    "TagsChangeRequest": obj({"tags": ref("Tags"),
                              "change_type": {"type": "string",
                                              "enum": ["set", "update", "delete"]}},
                             ["change_type"]),
    "DeviceAddRequest": obj({"name": STR, "node": STR, "tags": ref("Tags"),
                             "destroydata": BOOL}, ["name", "node"]),
    "DeviceDeleteRequest": obj({"forceforget": BOOL}),
    "Durability": obj({"type": {"type": "string", "enum": ["none", "replicate", "disperse"]},
                       "replicate": obj({"replica": INT}),
                       "disperse": obj({"data": INT, "redundancy": INT})}),
    "Snapshot": obj({"enable": BOOL, "factor": {"type": "number"}}),
    "VolumeCreateRequest": obj({"size": INT, "name": STR, "clusters": array(STR),
                                "durability": ref("Durability"), "gid": INT,
                                "glustervolumeoptions": array(STR), "block": BOOL,
                                "snapshot": ref("Snapshot")}, ["size"]),
    "Mount": obj({"glusterfs": obj({"hosts": array(STR), "device": STR,
                                    "options": {"type": "object",
                                                "additionalProperties": STR}},
                                   ["hosts", "device", "options"])}, ["glusterfs"]),
    "BlockInfo": obj({"freesize": INT, "reservedsize": INT, "blockvolume": array(ref("Id")),
                      "restriction": {"type": "string",
                                      "enum": ["", "locked", "locked-by-update"]}}),
    "VolumeInfo": obj({"size": INT, "name": STR, "durability": ref("Durability"), "gid": INT,
                       "glustervolumeoptions": array(STR), "block": BOOL,
                       "snapshot": ref("Snapshot"), "id": ref("Id"), "cluster": ref("Id"),
                       "mount": ref("Mount"), "blockinfo": ref("BlockInfo"),
                       "bricks": array(ref("Brick"))},
                      ["size", "name", "durability", "snapshot", "id", "cluster", "mount",
                       "blockinfo", "bricks"]),
    "VolumeList": obj({"volumes": array(ref("Id"))}, ["volumes"]),
    "TopologyCluster": obj({"volumes": array(ref("VolumeInfo")), "nodes": array(ref("NodeInfo")),
                            "id": ref("Id"), "block": BOOL, "file": BOOL},
                           ["volumes", "nodes", "id", "block", "file"]),
    "TopologyInfo": obj({"clusters": array(ref("TopologyCluster"))}, ["clusters"]),
    "VolumeExpandRequest": obj({"expand_size": INT}, ["expand_size"]),
    "VolumeCloneRequest": obj({"name": STR}),
    "BlockRestrictionRequest": obj({"restriction": {"type": "string",
                                                    "enum": ["", "locked"]}}),
    "BrickEvictRequest": obj({"healcheck": HEALCHECK}),
    "LogLevel": obj({"loglevel": obj({"glusterfs": {
        "type": "string",
        "enum": ["none", "critical", "error", "warning", "info", "debug"]}}, ["glusterfs"])},
                    ["loglevel"]),
    "OperationsInfo": obj({k: INT for k in ("total", "in_flight", "stale", "failed", "new")},
                          ["total", "in_flight", "stale", "failed", "new"]),
    "PendingOperation": obj({"id": ref("Id"), "type_name": STR,
                             "status": {"type": "string", "enum": ["", "stale", "failed"]},
                             "sub_status": {"type": "string", "enum": ["", "in-flight"]},
                             "progress": {"type": "string", "description": (
                                 "pyketi: how an operation is going (which brick of a "
                                 "device remove, heal info, step): from the server running "
                                 "it, or as that instance last wrote it (removals); "
                                 "absent otherwise")}},
                            ["id", "type_name", "status", "sub_status"]),
    "PendingOperationList": obj({"pendingoperations": array(ref("PendingOperation"))},
                                ["pendingoperations"]),
    "PendingOperationDetails": {"allOf": [ref("PendingOperation"), obj(
        {"changes": array(obj({"id": STR, "description": STR}, ["id", "description"]))},
        ["changes"])]},
    "CleanupRequest": obj({"operations": array(STR)}),
    "AdminState": obj({"state": {"type": "string",
                                 "enum": ["normal", "read-only", "local-client"]}},
                      ["state"]),
    "DbDump": {"type": "object", "description": "heketi's JSON export (`heketi db export`)"},
    "DbCheck": {"type": "object", "required": ["totalinconsistencies"]},
    "ExamineGluster": obj({"heketidb": ref("DbDump"), "report": array(STR),
                           "clusters": array({"type": "object"}),
                           # pyketi: LVM/mount/fstab differences and the repair each takes
                           "drift": array(STR)},
                          ["heketidb", "report", "clusters"]),
    "AuditRecord": obj({
        "id": INT, "time": {"type": "number", "description": "Unix seconds"},
        "role": STR, "subject": STR, "remote": STR, "method": STR, "route": STR, "kind": STR,
        "objects": array(STR), "status": INT,
        "result": {"type": "string", "enum": ["accepted", "done", "failed"]},
        "duration": {"type": "number", "description": "seconds"}, "request_id": STR,
        "error": STR},
        ["id", "time", "role", "subject", "remote", "method", "route", "kind", "objects",
         "status", "result", "duration", "request_id"]),
    "AuditList": obj({"audit": array(ref("AuditRecord")), "next": STR}, ["audit"]),
}

TEXT = {"text/plain": {"schema": STR}}
ERROR = {"text/plain; charset=utf-8": {"schema": STR}}


def error(description: str) -> Schema:
    return {"description": description, "content": ERROR}


def json_body(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description,
            "content": {"application/json; charset=UTF-8": {"schema": schema}}}


EMPTY: Schema = {"description": "OK, empty body"}
LOCATION_QUEUE = {"Location": {"required": True, "description": "relative path of the job",
                               "schema": {"type": "string", "pattern": "^/queue/[a-f0-9]+$"}}}
ACCEPTED: Schema = {"description": "accepted; poll the Location (see GET /queue/{id})",
                    "headers": LOCATION_QUEUE}
ACCEPTED_HTML: Schema = {"description": "accepted; poll the Location", "headers": LOCATION_QUEUE,
                         "content": {"text/html; charset=utf-8": {"schema": STR}}}
ALLOCATION_FAILED = error("no placement for the bricks (no space, no eligible cluster): "
                          "`Failed to allocate ...: <reason>`, a 500 as heketi answers it")
BUSY = error("too many operations in flight: `Server busy. Retry operation later.`")


def operation(summary: str, responses: dict[str, Schema], *, body: str | None = None,
              body_required: bool = True, open_route: bool = False, mutating: bool = False,
              tag: str = "") -> Schema:
    """One route: the responses every route shares are added here (auth, maintenance)."""
    out: Schema = {"summary": summary, "responses": dict(responses)}
    if tag:
        out["tags"] = [tag]
    if body:
        out["requestBody"] = {"required": body_required, "content": {
            "application/json": {"schema": ref(body)}}}
        out["responses"].setdefault("422", error("request unable to be parsed"))
        out["responses"].setdefault("400", error("validation failed"))
        out["responses"].setdefault("408", error("request body not received in time"))
    if open_route:
        out["security"] = []
    else:
        out["responses"].setdefault("400", error("malformed Authorization header"))
        out["responses"].setdefault("401", error("missing, invalid or expired token, or a "
                                                 "role without access to this route"))
    if mutating:
        out["responses"].setdefault("503", error("Service disabled for maintenance"))
    return out


NOT_FOUND = error("Id not found")
ID_PARAM = {"name": "id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN}}


def _paths() -> dict[str, dict[str, Schema]]:
    return {
        "/hello": {"get": operation("Liveness greeting", {
            "200": {"description": "`Hello from Heketi`", "content": {
                "text/plain; charset=UTF-8": {"schema": {"const": "Hello from Heketi"}}}}},
            open_route=True, tag="server")},
        "/healthz": {"get": operation("Process alive", {
            "200": {"description": "ok", "content": ERROR}}, open_route=True, tag="server")},
        "/readyz": {"get": operation("Ready: database reachable, schema current, executor "
                                     "configured", {
            "200": {"description": "ready", "content": ERROR},
            "503": error("not ready: <reason>")}, open_route=True, tag="server")},
        "/metrics": {"get": dict(operation("Prometheus metrics", {
            "200": {"description": "Prometheus text exposition", "content": {
                "text/plain; version=0.0.4; charset=utf-8": {"schema": STR}}},
            "400": error("malformed Authorization header (metrics_require_admin)"),
            "401": error("token required (metrics_require_admin)")}, open_route=True,
            tag="server"), security=[{}, {"heketiJWT": []}])},
        "/openapi.json": {"get": operation("This document", {
            "200": json_body({"type": "object"})}, open_route=True, tag="server")},
        "/queue/{id}": {"get": operation("Poll an asynchronous job", {
            "200": {"description": "still running", "headers": {
                "X-Pending": {"required": True, "schema": {"const": "true"}}}},
            "204": {"description": "finished, nothing to redirect to"},
            "303": {"description": "finished: the resource", "headers": {
                "Location": {"required": True, "schema": {"type": "string"}}},
                "content": {"text/html; charset=utf-8": {"schema": STR}}},
            "404": NOT_FOUND,
            "500": error("the operation failed: its error text")}, tag="queue")},
        "/clusters": {
            "post": operation("Create a cluster", {"201": json_body(ref("ClusterInfo"))},
                              body="ClusterFlags", mutating=True, tag="clusters"),
            "get": operation("List clusters", {"200": json_body(ref("ClusterList"))},
                             tag="clusters")},
        "/clusters/{id}": {
            "get": operation("Cluster info", {"200": json_body(ref("ClusterInfo")),
                                              "404": NOT_FOUND}, tag="clusters"),
            "delete": operation("Delete an empty cluster", {
                "200": EMPTY, "404": NOT_FOUND,
                "409": error("cluster contains volumes and/or nodes")},
                mutating=True, tag="clusters")},
        "/clusters/{id}/flags": {"post": operation("Set block/file flags", {
            "200": {"description": "OK, empty body (heketi sends it with "
                                   "`Content-Type: application/json; charset=UTF-8`)"},
            "404": NOT_FOUND}, body="ClusterFlags", mutating=True, tag="clusters")},
        "/nodes": {"post": operation("Add a node (async, ends 303 → /nodes/{id})", {
            "202": ACCEPTED, "404": error("Cluster id does not exist"),
            "409": error("Hostname already used"), "429": BUSY},
            body="NodeAddRequest", mutating=True, tag="nodes")},
        "/nodes/{id}": {
            "get": operation("Node info", {"200": json_body(ref("NodeInfo")), "404": NOT_FOUND},
                             tag="nodes"),
            "delete": operation("Delete a node without devices (async, ends 204)", {
                "202": ACCEPTED, "404": NOT_FOUND, "409": error("node contains devices"),
                "429": BUSY}, mutating=True, tag="nodes")},
        "/nodes/{id}/state": {"post": operation("Set node state (async, ends 204)", {
            "202": ACCEPTED, "404": NOT_FOUND, "409": error("state change refused"),
            "429": BUSY}, body="StateRequest", mutating=True, tag="nodes")},
        "/nodes/{id}/tags": {"post": operation("Change node tags", {
            "200": json_body(ref("Tags")), "404": NOT_FOUND}, body="TagsChangeRequest",
            mutating=True, tag="nodes")},
        "/devices": {"post": operation("Add a device (async, ends 204)", {
            "202": ACCEPTED, "404": error("Node id does not exist"),
            "409": error("device already added"), "429": BUSY},
            body="DeviceAddRequest", mutating=True, tag="devices")},
        "/devices/{id}": {
            "get": operation("Device info", {"200": json_body(ref("DeviceInfo")),
                                             "404": NOT_FOUND}, tag="devices"),
            "delete": operation("Delete a failed, empty device (async, ends 204)", {
                "202": ACCEPTED, "404": NOT_FOUND, "409": error("device contains bricks"),
                "429": BUSY}, body="DeviceDeleteRequest", body_required=False,
                mutating=True, tag="devices")},
        "/devices/{id}/state": {"post": operation("Set device state (async, ends 204)", {
            "202": ACCEPTED, "404": NOT_FOUND, "409": error("state change refused"),
            "429": BUSY}, body="StateRequest", mutating=True, tag="devices")},
        "/devices/{id}/resync": {"get": operation("Re-read device size (async, ends 204)", {
            "202": ACCEPTED_HTML, "404": NOT_FOUND, "409": error("device busy"),
            "429": BUSY}, tag="devices")},
        "/devices/{id}/tags": {"post": operation("Change device tags", {
            "200": json_body(ref("Tags")), "404": NOT_FOUND}, body="TagsChangeRequest",
            mutating=True, tag="devices")},
        "/volumes": {
            "post": operation("Create a volume (async, ends 303 → /volumes/{id})", {
                "202": ACCEPTED, "409": error("name in use"), "429": BUSY,
                "500": ALLOCATION_FAILED},
                body="VolumeCreateRequest", mutating=True, tag="volumes"),
            "get": operation("List volumes", {"200": json_body(ref("VolumeList"))},
                             tag="volumes")},
        "/volumes/{id}": {
            "get": operation("Volume info", {"200": json_body(ref("VolumeInfo")),
                                             "404": NOT_FOUND}, tag="volumes"),
            "delete": operation("Delete a volume (async, ends 204)", {
                "202": ACCEPTED, "404": NOT_FOUND, "409": error("volume may not be deleted"),
                "429": BUSY}, mutating=True, tag="volumes")},
        "/volumes/{id}/expand": {"post": operation("Expand (async, ends 303 → /volumes/{id})", {
            "202": ACCEPTED, "404": NOT_FOUND, "409": error("refused"), "429": BUSY,
            "500": ALLOCATION_FAILED}, body="VolumeExpandRequest", mutating=True, tag="volumes")},
        "/volumes/{id}/clone": {"post": operation("Clone (async, ends 303 → the clone)", {
            "202": ACCEPTED, "404": NOT_FOUND, "409": error("clone refused"), "429": BUSY},
            body="VolumeCloneRequest", mutating=True, tag="volumes")},
        "/volumes/{id}/block-restriction": {"post": operation(
            "Lock/unlock a block-hosting volume (async, ends 303 → /volumes/{id})", {
                "202": ACCEPTED, "404": NOT_FOUND, "409": error("refused"), "429": BUSY},
            body="BlockRestrictionRequest", mutating=True, tag="volumes")},
        "/bricks/to-evict/{id}": {"post": operation("Move a brick (async, ends 204)", {
            "202": ACCEPTED, "404": NOT_FOUND, "409": error("no replacement"), "429": BUSY},
            body="BrickEvictRequest", body_required=False, mutating=True, tag="bricks")},
        "/topology": {"get": operation(
            "Whole topology in one reply (pyketi; heketi's clients compose it from "
            "GET /clusters, /clusters/{id}, /volumes/{id}, /nodes/{id})",
            {"200": json_body(ref("TopologyInfo"))}, tag="clusters")},
        "/backup/db": {"get": operation("Database backup", {"200": {
            "description": "SQLite file (PostgreSQL: the JSON export)",
            "content": {"application/octet-stream": {"schema": STR}}}}, tag="db")},
        "/db/dump": {"get": operation("heketi JSON export", {"200": json_body(ref("DbDump"))},
                                      tag="db")},
        "/db/check": {"get": operation("Database consistency", {
            "200": json_body(ref("DbCheck"))}, tag="db")},
        "/internal/logging": {
            "get": operation("Log level", {"200": json_body(ref("LogLevel"))}, tag="server"),
            "post": operation("Set the log level", {"200": json_body(ref("LogLevel"))},
                              body="LogLevel", mutating=True, tag="server")},
        "/internal/state/examine/gluster": {"get": operation(
            "Database compared with gluster", {"200": json_body(ref("ExamineGluster"))},
            tag="server")},
        "/operations": {"get": operation("Operation counts", {
            "200": json_body(ref("OperationsInfo"))}, tag="operations")},
        "/operations/pending": {"get": operation("Pending operations", {
            "200": json_body(ref("PendingOperationList"))}, tag="operations")},
        "/operations/pending/{id}": {"get": operation("Pending operation details", {
            "200": json_body(ref("PendingOperationDetails")),
            "404": error("Id not found: <id>")}, tag="operations")},
        "/operations/pending/cleanup": {"post": operation(
            "Clean stale/failed operations (async, ends 204)", {"202": ACCEPTED},
            body="CleanupRequest", body_required=False, mutating=True, tag="operations")},
        "/admin": {
            "get": operation("Maintenance state", {"200": json_body(ref("AdminState"))},
                             tag="server"),
            "post": operation("Set the maintenance state", {"204": EMPTY},
                              body="AdminState", mutating=True, tag="server")},
        "/audit": {"get": dict(operation("Audit trail of accepted changes (admin)", {
            "200": json_body(ref("AuditList"))}, tag="audit"), parameters=[
            {"name": n, "in": "query", "required": False, "schema": s, "description": d}
            for n, s, d in (
                ("since", {"type": "number"}, "records at or after this Unix time"),
                ("until", {"type": "number"}, "records before this Unix time"),
                ("role", {"type": "string", "enum": ["admin", "user"]}, "requester role"),
                ("result", {"type": "string", "enum": ["accepted", "done", "failed"]},
                 "outcome"),
                ("object", {"type": "string", "pattern": ID_PATTERN}, "an object id"),
                ("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                 "page size (default 100)"),
                ("marker", {"type": "string", "pattern": "^[0-9]+$"},
                 "`next` of the previous page"))])},
    }


REQUEST_ID_HEADER: Schema = {
    "required": True, "description": "the request id (the client's X-Request-Id when sane, "
                                     "else a new one); it tags every log line of the request",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:/+=-]{1,128}$"}}


def build() -> Schema:
    paths = _paths()
    for path, methods in paths.items():
        for op in methods.values():
            if "{id}" in path:
                op.setdefault("parameters", []).insert(0, ID_PARAM)
            op.setdefault("parameters", []).append({
                "name": "X-Request-Id", "in": "header", "required": False,
                "description": "a request id of the client's own, echoed and logged",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:/+=-]{1,128}$"}})
            op["responses"] = {code: dict(answer, headers={
                **answer.get("headers", {}), "X-Request-Id": REQUEST_ID_HEADER})
                for code, answer in op["responses"].items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "pyketi", "version": __version__,
                 "description": "heketi-compatible GlusterFS volume management API. Errors "
                                "are plain text (`<message>\\n`). Long operations answer "
                                "202 with `Location: /queue/<id>`; poll it until it stops "
                                "answering `X-Pending: true`."},
        "servers": [{"url": "/"}],
        "security": [{"heketiJWT": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"heketiJWT": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "HS256/384/512 signed with the admin or user key; claims "
                               "`iss` (admin|user), `iat`, `exp`, and `qsh` = hex SHA-256 "
                               "of `METHOD&path` (path without the query)."}},
        },
    }


DOCUMENT: Schema = build()


async def serve(_request: web.Request) -> web.Response:
    return web.Response(body=_BODY, headers={"Content-Type": "application/json; charset=UTF-8"})


_BODY = json.dumps(DOCUMENT, indent=1).encode() + b"\n"
PATHS = frozenset({"/openapi.json"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/openapi.json", serve)
