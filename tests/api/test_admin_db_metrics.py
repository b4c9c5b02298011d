"""/admin, /db/dump, /db/check, /operations and /metrics (spec §1.11, §7.2)."""

import json

from prometheus_client.parser import text_string_to_metric_families

from apihelp import (BRICK_KEYS, ID_RE, JSON_CT, accepted, dump, json_ok, text_error, topology,
                     unknown_id)

R3 = {"type": "replicate", "replicate": {"replica": 3}}
DB_KEYS = ["clusterentries", "volumeentries", "brickentries", "nodeentries", "deviceentries",
           "blockvolumeentries", "dbattributeentries", "pendingoperations"]
CHECK_KINDS = ["clusters", "volumes", "bricks", "nodes", "devices", "blockvolumes",
               "dbattributes", "pendingoperations"]
SECTION_KEYS = ["total", "pending", "ok", "notok", "inconsistencies"]
MAINTENANCE = "Service disabled for maintenance"


def indented(reply):
    """200, heketi's JSON content type, 4-space indented JSON + newline."""
    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"] == JSON_CT
    assert int(reply.headers["Content-Length"]) == len(reply.text.encode())
    assert reply.headers.get("X-Request-Id")
    data = json.loads(reply.text)
    assert reply.text == json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    return data


# -- /admin --------------------------------------------------------------------

async def test_admin_state_normal(api):
    assert json_ok(await api.get("/admin"), 200, ["state"]) == {"state": "normal"}


async def test_read_only_refuses_every_write(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    r = await api.post("/admin", {"state": "read-only"})
    assert (r.status, r.text) == (204, "")
    assert json_ok(await api.get("/admin")) == {"state": "read-only"}
    before = await dump(api)
    for method, path, body in [
            ("POST", "/clusters", {}), ("DELETE", f"/clusters/{cid}", None),
            ("POST", f"/clusters/{cid}/flags", {}), ("POST", "/nodes", {}),
            ("DELETE", f"/nodes/{nid}", None), ("POST", f"/nodes/{nid}/tags", {}),
            ("POST", "/volumes", {"size": 1}), ("DELETE", f"/volumes/{unknown_id()}", None),
            ("POST", "/operations/pending/cleanup", {}),
            ("POST", "/admin", {"state": "normal"}),  # only a signal resets it
            ("POST", "/no/such/path", {})]:
        text_error(await api.request(method, path, body), 503, MAINTENANCE)
    assert await dump(api) == before
    # reads still work, and so do the open routes
    assert json_ok(await api.get(f"/clusters/{cid}"))["nodes"] == [nid]
    assert (await api.get("/hello", auth=False)).status == 200
    assert (await api.get("/metrics", auth=False)).status == 200
    assert json_ok(await api.get("/admin")) == {"state": "read-only"}


async def test_local_client_allows_local_writes(api):
    assert (await api.post("/admin", {"state": "local-client"})).status == 204
    assert json_ok(await api.get("/admin")) == {"state": "local-client"}
    assert (await api.post("/clusters", {})).status == 201  # the test client is 127.0.0.1
    assert (await api.post("/admin", {"state": "normal"})).status == 204
    assert json_ok(await api.get("/admin")) == {"state": "normal"}


async def test_default_state_from_config(make_api, db_url):
    api = await make_api(db_url, default_state="read-only")
    assert json_ok(await api.get("/admin")) == {"state": "read-only"}
    text_error(await api.post("/clusters", {}), 503, MAINTENANCE)


async def test_admin_bad_requests(api):
    invalid = "validation failed: state: must be a valid value."
    for body, text in [({}, "validation failed: state: cannot be blank."),
                       ({"state": "maintenance"}, invalid), ({"state": "READ-ONLY"}, invalid)]:
        text_error(await api.post("/admin", body), 400, text)
    # /admin answers unparsable bodies, wrong JSON types included, with a 400 (spec §1.11)
    for raw in (b"", b"{state", b'{"state": 1}', b'{"state": ["normal"]}', b"[]"):
        r = await api.post("/admin", raw=raw)
        assert r.status == 400 and r.text.startswith("request unable to be parsed: "), r.text
    assert json_ok(await api.get("/admin")) == {"state": "normal"}


# -- /db/dump and /db/check ------------------------------------------------------

async def test_db_dump_of_an_empty_database(api):
    db = indented(await api.get("/db/dump"))
    assert list(db) == DB_KEYS
    assert all(db[k] == {} for k in DB_KEYS if k != "dbattributeentries")
    for key, entry in db["dbattributeentries"].items():
        assert entry == {"Key": key, "Value": entry["Value"]}


async def test_db_dump_has_a_generation_id(api):
    attrs = (await dump(api))["dbattributeentries"]
    entry = attrs["DB_GENERATION_ID"]
    assert entry["Key"] == "DB_GENERATION_ID" and ID_RE.match(entry["Value"])
    assert {k: v["Value"] for k, v in attrs.items() if k != "DB_GENERATION_ID"} == {
        "DB_BRICK_HAS_SUBTYPE_FIELD": "yes", "DB_CLUSTER_HAS_FILE_BLOCK_FLAG": "yes",
        "DB_HAS_PENDING_OPS_BUCKET": "yes", "DB_DEVICE_HAS_ID_META": "yes"}


async def test_db_dump_shape(api):
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    db = indented(await api.get("/db/dump"))
    assert list(db) == DB_KEYS
    cid, vid = topo["cluster"], vol["id"]
    assert list(db["clusterentries"]) == [cid]
    assert db["clusterentries"][cid] == {"Info": json_ok(await api.get(f"/clusters/{cid}"))}

    assert list(db["nodeentries"]) == sorted(topo["nodes"])
    for nid, entry in db["nodeentries"].items():
        node = json_ok(await api.get(f"/nodes/{nid}"))
        assert list(entry) == ["State", "Info", "Devices"]
        assert entry["State"] == "online"
        assert entry["Info"] == {k: node[k] for k in ("zone", "hostnames", "cluster", "id")}
        assert entry["Devices"] == [d["id"] for d in node["devices"]]

    assert list(db["deviceentries"]) == sorted(topo["devices"])
    for did, entry in db["deviceentries"].items():
        device = json_ok(await api.get(f"/devices/{did}"))
        assert list(entry) == ["State", "Info", "Bricks", "NodeId", "ExtentSize"]
        assert entry["Info"] == {k: device[k] for k in ("name", "storage", "id")}
        assert entry["Bricks"] == [b["id"] for b in device["bricks"]]
        assert entry["NodeId"] in topo["nodes"] and entry["ExtentSize"] == 4096

    entry = db["volumeentries"][vid]
    assert list(entry) == ["Info", "Bricks", "GlusterVolumeOptions", "Pending"]
    assert entry["Info"] == {k: v for k, v in vol.items()
                             if k not in ("glustervolumeoptions", "bricks")}
    assert entry["Bricks"] == [b["id"] for b in vol["bricks"]]
    assert entry["GlusterVolumeOptions"] == ["", ""]
    assert entry["Pending"] == {"Id": ""}

    assert list(db["brickentries"]) == [b["id"] for b in vol["bricks"]]
    for brick in vol["bricks"]:
        entry = db["brickentries"][brick["id"]]
        assert list(entry) == ["Info", "TpSize", "PoolMetadataSize", "Pending", "LvmThinPool",
                               "LvmLv", "SubType"]
        assert entry["Info"] == brick and list(entry["Info"]) == BRICK_KEYS
        assert (entry["TpSize"], entry["Pending"]) == (brick["size"], {"Id": ""})
        assert entry["PoolMetadataSize"] > 0
        assert (entry["LvmThinPool"], entry["SubType"]) == (f"tp_{brick['id']}", 1)
    assert db["blockvolumeentries"] == {} and db["pendingoperations"] == {}
    assert {"DB_BRICK_HAS_SUBTYPE_FIELD", "DB_CLUSTER_HAS_FILE_BLOCK_FLAG",
            "DB_HAS_PENDING_OPS_BUCKET", "DB_DEVICE_HAS_ID_META"} <= set(db["dbattributeentries"])


async def test_db_dump_shows_pending_operations(gated_api):
    api, executor = await gated_api("volume_create")
    await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": R3})
    accepted(r)
    await executor.reached()
    db = await dump(api)
    [(vid, volume)] = db["volumeentries"].items()
    [(op_id, op)] = db["pendingoperations"].items()
    assert volume["Pending"] == {"Id": op_id}
    assert all(db["brickentries"][b]["Pending"] == {"Id": op_id} for b in volume["Bricks"])
    assert list(op) == ["Id", "Timestamp", "Type", "Actions", "Status"]
    assert (op["Id"], op["Type"], op["Status"]) == (op_id, 1, "")
    assert sorted((a["Change"], a["Id"], a["Delta"]) for a in op["Actions"]) == sorted(
        [(1, b, None) for b in volume["Bricks"]] + [(2, vid, None)])
    executor.release()
    assert (await api.wait(r)).status == 303
    assert (await dump(api))["pendingoperations"] == {}


async def test_db_check(api):
    r = await api.get("/db/check")
    empty = indented(r)
    assert list(empty) == CHECK_KINDS + ["totalinconsistencies"]
    assert empty["totalinconsistencies"] == 0
    await topology(api, nodes=3, devices=1)
    await api.volume(1)
    check = indented(await api.get("/db/check"))
    assert list(check) == CHECK_KINDS + ["totalinconsistencies"]
    totals = {"clusters": 1, "volumes": 1, "bricks": 3, "nodes": 3, "devices": 3,
              "blockvolumes": 0, "pendingoperations": 0}
    for kind in CHECK_KINDS:
        assert list(check[kind]) == SECTION_KEYS
        assert check[kind]["inconsistencies"] == [] and check[kind]["notok"] == 0
        assert check[kind]["ok"] == check[kind]["total"]
        if kind in totals:
            assert (check[kind]["total"], check[kind]["pending"]) == (totals[kind], 0), kind
    assert check["totalinconsistencies"] == 0


# -- /operations -----------------------------------------------------------------

async def test_operations_counts_and_pending_details(gated_api):
    api, executor = await gated_api("volume_create")
    idle = {"total": 0, "in_flight": 0, "stale": 0, "failed": 0, "new": 0}
    assert json_ok(await api.get("/operations"), 200, list(idle)) == idle
    assert json_ok(await api.get("/operations/pending")) == {"pendingoperations": []}
    await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": R3})
    accepted(r)
    await executor.reached()
    assert json_ok(await api.get("/operations")) == {**idle, "total": 1, "in_flight": 1, "new": 1}
    [summary] = json_ok(await api.get("/operations/pending"))["pendingoperations"]
    # heketi's fields, then pyketi's progress of an operation running here
    assert list(summary) == ["id", "type_name", "status", "sub_status", "progress"]
    assert (summary["type_name"], summary["status"], summary["sub_status"]) == \
        ("create-volume", "", "in-flight")
    assert summary["progress"].startswith("step 2/2 volume_create on "), summary["progress"]
    details = json_ok(await api.get(f"/operations/pending/{summary['id']}"))
    assert list(details) == ["id", "type_name", "status", "sub_status", "progress", "changes"]
    vid = next(iter((await dump(api))["volumeentries"]))
    descriptions = sorted(c["description"] for c in details["changes"])
    assert descriptions == ["Add brick"] * 3 + ["Add volume"]
    assert {"id": vid, "description": "Add volume"} in details["changes"]
    assert all(list(c) == ["id", "description"] for c in details["changes"])
    executor.release()
    assert (await api.wait(r)).status == 303
    assert json_ok(await api.get("/operations")) == idle
    missing = unknown_id()
    text_error(await api.get(f"/operations/pending/{missing}"), 404, f"Id not found: {missing}")


async def test_pending_cleanup_with_nothing_to_clean(api):
    r = await api.post("/operations/pending/cleanup", {})
    accepted(r)
    assert (await api.wait(r)).status == 204
    r = await api.post("/operations/pending/cleanup", raw=b"")
    assert (await api.wait(r)).status == 204
    r = await api.post("/operations/pending/cleanup", {"operations": ["not-an-id"]})
    assert r.status == 400 and r.text.startswith("validation failed: operations: "), r.text


# -- /metrics ----------------------------------------------------------------------

def samples(text):
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


async def test_metrics_of_an_empty_server(api):
    r = await api.get("/metrics", auth=False)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=")
    m = samples(r.text)
    assert m["heketi_up"] == [({}, 1.0)] and m["heketi_cluster_count"] == [({}, 0.0)]
    for name in ("stale", "failed", "new", "total", "inFlight"):
        assert m[f"heketi_operations_{name}_count"] == [({}, 0.0)], name


async def test_metrics_after_creating_a_topology(api):
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    cid = topo["cluster"]
    m = samples((await api.get("/metrics", auth=False)).text)
    assert m["heketi_cluster_count"] == [({}, 1.0)]
    for name, value in (("heketi_nodes_count", 3), ("heketi_volumes_count", 1),
                        ("heketi_block_volumes_count", 0)):
        assert m[name] == [({"cluster": cid}, float(value))], name
    hosts = {}
    for nid in topo["nodes"]:
        node = json_ok(await api.get(f"/nodes/{nid}"))
        hosts[nid] = (node["hostnames"]["manage"][0], node["hostnames"]["storage"][0])
    assert sorted((labels["hostname"], labels["storage_hostname"], value)
                  for labels, value in m["heketi_device_count"]) == \
        sorted((manage, storage, 1.0) for manage, storage in hosts.values())
    assert all(labels["cluster"] == cid for labels, _ in m["heketi_device_count"])
    bricks_on = {}
    for brick in vol["bricks"]:
        bricks_on[brick["device"]] = bricks_on.get(brick["device"], 0) + 1
    for node, did in zip(topo["nodes"], topo["devices"], strict=True):  # one device each
        device = json_ok(await api.get(f"/devices/{did}"))
        labels = {"cluster": cid, "hostname": hosts[node][0], "storage_hostname": hosts[node][1],
                  "id": did, "device": "/dev/sdb", "pv_uuid": ""}
        storage = device["storage"]
        for kind, key in (("size", "total"), ("free", "free"), ("used", "used")):
            assert (labels, float(storage[key])) in m[f"heketi_device_{kind}"], kind
            assert (labels, float(storage[key] * 1024)) in m[f"heketi_device_{kind}_bytes"], kind
        assert (labels, float(bricks_on.get(did, 0))) in m["heketi_device_brick_count"]


# -- /internal/logging, /backup/db, examine, brick evict -------------------------

async def test_internal_logging(api):
    assert json_ok(await api.get("/internal/logging")) == {"loglevel": {"glusterfs": "info"}}
    try:
        r = await api.post("/internal/logging", {"loglevel": {"glusterfs": "debug"}})
        assert json_ok(r) == {"loglevel": {"glusterfs": "debug"}}
        text_error(await api.post("/internal/logging", {"loglevel": {"other": "debug"}}), 422,
                   'Only "glusterfs" logger may be modified')
        text_error(await api.post("/internal/logging", {"loglevel": {"glusterfs": "loud"}}),
                   422, "invalid log level: loud")
        r = await api.post("/internal/logging", raw=b"{")
        assert r.status == 400 and r.text.startswith("request unable to be parsed: ")
        assert json_ok(await api.get("/internal/logging")) == {"loglevel": {"glusterfs": "debug"}}
    finally:
        await api.post("/internal/logging", {"loglevel": {"glusterfs": "info"}})


async def test_backup_db(api, db_url):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.get("/backup/db")
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    body, disposition = r.body, r.headers["Content-Disposition"]
    if db_url.startswith("sqlite"):
        assert disposition == 'attachment; filename="heketi.db"'
        assert body.startswith(b"SQLite format 3\x00")
        assert vol["id"].encode() in body
    else:
        assert disposition == 'attachment; filename="heketi-export.json"'
        assert vol["id"] in json.loads(body)["volumeentries"]


async def test_examine_gluster_reports_drift(make_api, db_url):
    from pyketi.executors.doubles.mock import MockExecutor
    ex = MockExecutor(strict=True)
    api = await make_api(db_url, executor=ex)
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = indented(await api.get("/internal/state/examine/gluster"))
    assert r["report"] == [] and r["clusters"][0]["volumes"] == [vol["name"]]
    assert vol["id"] in r["heketidb"]["volumeentries"]
    # the volume disappears from gluster behind pyketi's back: examine says so
    host = next(h for h, n in ex.state()["hosts"].items() if n["volumes"])
    await ex.volume_destroy(host, vol["name"])
    r = indented(await api.get("/internal/state/examine/gluster"))
    assert len(r["report"]) == 1 and vol["name"] in r["report"][0]
    assert "not found on any node" in r["report"][0]


async def test_brick_evict_moves_one_brick(api):
    await topology(api, nodes=4, devices=1)
    vol = await api.volume(1)
    brick = vol["bricks"][0]
    assert await api.done(await api.post(f"/bricks/to-evict/{brick['id']}")) is None
    after = json_ok(await api.get(f"/volumes/{vol['id']}"))
    assert brick["id"] not in {b["id"] for b in after["bricks"]}
    assert len(after["bricks"]) == 3 and len({b["node"] for b in after["bricks"]}) == 3
    text_error(await api.post(f"/bricks/to-evict/{brick['id']}"), 404, "Id not found")


async def test_brick_evict_without_replacement_is_refused(api):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.post(f"/bricks/to-evict/{vol['bricks'][0]['id']}")
    # heketi's message, then why (pyketi)
    assert r.status == 409 and r.text.startswith(
        "No Replacement was found for resource requested to be removed: replica 3 keeps the "
        "3 copies of a brick on 3 different nodes and no other node can take this copy"), r.text
    assert json_ok(await api.get(f"/volumes/{vol['id']}"))["bricks"] == vol["bricks"]
