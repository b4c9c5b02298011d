"""/volumes routes (spec §1.8, §5.1, §10.4-10.6, §10.9, §11.3, §11.6, §11.8, §11.10)."""

import pytest

from apihelp import (BRICK_KEYS, ID_RE, MOCK_DEVICE_KIB, VOLUME_KEYS, accepted, check_errors, dump,
                     json_ok, text_error, topology, unknown_id)

GIB = 1048576  # KiB
R3 = {"type": "replicate", "replicate": {"replica": 3}}


async def create(api, body):
    r = await api.post("/volumes", body)
    accepted(r)
    return await api.done(r)


async def storage_hosts(api, cluster):
    """storage[0] of every node of the cluster, sorted by node id (spec §1.8 mount)."""
    nodes = json_ok(await api.get(f"/clusters/{cluster}"))["nodes"]
    return [json_ok(await api.get(f"/nodes/{n}"))["hostnames"]["storage"][0] for n in nodes]


async def block_cluster(api, nodes=3):
    topo = await topology(api, nodes=nodes, devices=1)
    assert (await api.post(f"/clusters/{topo['cluster']}/flags",
                           {"block": True, "file": True})).status == 200
    return topo


async def test_create_async_protocol_and_full_info(api):
    topo = await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": R3})
    accepted(r)
    final = await api.wait(r)
    assert final.status == 303
    location = final.headers["Location"]
    assert location.startswith("/volumes/") and ID_RE.match(location[9:])
    reply = await api.get(location)
    vol = json_ok(reply, 200, VOLUME_KEYS)
    vid = location[9:]
    hosts = await storage_hosts(api, topo["cluster"])
    assert {k: v for k, v in vol.items() if k != "bricks"} == {
        "size": 1, "name": f"vol_{vid}",
        "durability": {"type": "replicate", "replicate": {"replica": 3}, "disperse": {}},
        "glustervolumeoptions": ["", ""],
        "snapshot": {"enable": False, "factor": 1},
        "id": vid, "cluster": topo["cluster"],
        "mount": {"glusterfs": {"hosts": hosts, "device": f"{hosts[0]}:vol_{vid}",
                                "options": {"backup-volfile-servers": ",".join(hosts[1:])}}},
        "blockinfo": {}}
    assert list(vol["durability"]) == ["type", "replicate", "disperse"]
    assert list(vol["mount"]["glusterfs"]) == ["hosts", "device", "options"]
    assert '"snapshot":{"enable":false,"factor":1}' in reply.text  # float32 printed as 1
    assert [b["id"] for b in vol["bricks"]] == sorted(b["id"] for b in vol["bricks"])
    assert len(vol["bricks"]) == 3 and len({b["node"] for b in vol["bricks"]}) == 3
    for brick in vol["bricks"]:
        assert list(brick) == BRICK_KEYS
        assert (brick["volume"], brick["size"]) == (vid, GIB)
        assert brick["device"] in topo["devices"] and brick["node"] in topo["nodes"]


NONE = {"type": "none", "replicate": {}, "disperse": {}}


async def test_request_defaults(api):
    await topology(api, nodes=3, devices=1)
    # (request, echoed durability, number of bricks) - spec §10.5
    cases = [
        ({"size": 1}, NONE, 1),  # missing durability: distribute only, not replicate
        ({"size": 1, "durability": {"type": ""}}, NONE, 1),
        ({"size": 1, "durability": {"type": "none", "replicate": {"replica": 0}}}, NONE, 1),
        # replica 0: placed with the default replica 2, echoed as stored (0 = omitted)
        ({"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 0}}},
         {"type": "replicate", "replicate": {}, "disperse": {}}, 2),
        ({"size": 1, "durability": {"type": "replicate"}},
         {"type": "replicate", "replicate": {}, "disperse": {}}, 2),
    ]
    for body, durability, bricks in cases:
        vol = await create(api, {**body, "block": False, "gid": 0,
                                 "snapshot": {"enable": False, "factor": 5}})
        assert vol["durability"] == durability, body
        assert len(vol["bricks"]) == bricks and len({b["node"] for b in vol["bricks"]}) == bricks
        assert list(vol) == VOLUME_KEYS  # no block, gid or clusters key
        assert vol["snapshot"] == {"enable": False, "factor": 1}  # disabled: factor 1


async def test_durability_is_echoed_as_sent(api):
    await topology(api, nodes=3, devices=1)
    cli_style = {"type": "replicate", "replicate": {"replica": 3},
                 "disperse": {"data": 4, "redundancy": 2}}  # heketi-cli sends all three
    vol = await create(api, {"size": 1, "durability": cli_style,
                             "snapshot": {"enable": True, "factor": 1.5}})
    assert vol["durability"] == cli_style
    assert list(vol["durability"]["disperse"]) == ["data", "redundancy"]
    assert vol["snapshot"] == {"enable": True, "factor": 1.5}
    assert len(vol["bricks"]) == 3
    vol = await create(api, {"size": 2, "durability": {"type": "disperse",
                                                       "disperse": {"data": 2, "redundancy": 1}}})
    assert vol["durability"] == {"type": "disperse", "replicate": {},
                                 "disperse": {"data": 2, "redundancy": 1}}
    assert len(vol["bricks"]) == 3 and {b["size"] for b in vol["bricks"]} == {GIB}


async def test_name_gid_and_options(api):
    topo = await topology(api, nodes=3, devices=1)
    vol = await create(api, {"size": 1, "name": "my-vol_1", "gid": 2001, "durability": R3,
                             "glustervolumeoptions": ["performance.rda-cache-limit 10MB",
                                                      " client.event-threads 4"]})
    assert list(vol) == ["size", "name", "durability", "gid", "glustervolumeoptions",
                         "snapshot", "id", "cluster", "mount", "blockinfo", "bricks"]
    assert (vol["name"], vol["gid"]) == ("my-vol_1", 2001)
    # stored verbatim, leading space included (spec §11.6), between the pre/post artifacts
    assert vol["glustervolumeoptions"] == ["", "performance.rda-cache-limit 10MB",
                                           " client.event-threads 4", ""]
    hosts = await storage_hosts(api, topo["cluster"])
    assert vol["mount"]["glusterfs"]["device"] == f"{hosts[0]}:my-vol_1"
    text_error(await api.post("/volumes", {"size": 1, "name": "my-vol_1"}), 500,
               "Failed to allocate new volume: Volume name 'my-vol_1' already in use")


async def test_pre_and_post_request_options(make_api, db_url):
    api = await make_api(db_url, pre_request_volume_options="a.b 1,c.d 2",
                         post_request_volume_options="e.f 3")
    await topology(api, nodes=3, devices=1)
    vol = await create(api, {"size": 1, "glustervolumeoptions": ["x.y 4"]})
    assert vol["glustervolumeoptions"] == ["a.b 1", "c.d 2", "x.y 4", "e.f 3"]


async def test_block_hosting_volume(api):
    await block_cluster(api)
    vol = await create(api, {"size": 100, "block": True, "durability": R3})
    assert list(vol) == ["size", "name", "durability", "glustervolumeoptions", "block",
                         "snapshot", "id", "cluster", "mount", "blockinfo", "bricks"]
    assert vol["block"] is True
    assert vol["glustervolumeoptions"] == ["", "group gluster-block", ""]
    assert vol["blockinfo"] == {"freesize": 98, "reservedsize": 2}
    assert list(vol["blockinfo"]) == ["freesize", "reservedsize"]


async def test_clusters_restricts_placement(api):
    first = await topology(api, nodes=3, devices=1)
    second = (await topology(api, nodes=3, devices=1, first=4))["cluster"]
    for cid in (first["cluster"], second):
        vol = await create(api, {"size": 1, "clusters": [cid], "durability": R3})
        assert vol["cluster"] == cid and "clusters" not in vol


async def test_create_validation(api):
    topo = await topology(api, nodes=3, devices=1)
    missing = unknown_id()
    before = await dump(api)
    await check_errors(api, "POST", "/volumes", [
        ({}, 400, "validation failed: size: cannot be blank."),
        ({"size": 0}, 400, "validation failed: size: cannot be blank."),
        ({"size": -1}, 400, "validation failed: size: must be no less than 1."),
        ({"size": 1, "name": "bad name"}, 400,
         "validation failed: name: must be in a valid format."),
        ({"size": 1, "name": "vol;rm -rf"}, 400,
         "validation failed: name: must be in a valid format."),
        ({"size": 0, "name": "x y"}, 400,
         "validation failed: name: must be in a valid format; size: cannot be blank."),
        ({"size": 1, "durability": {"type": "mirror"}}, 400, "Unknown durability type"),
        ({"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 4}}}, 400,
         "Invalid replica value"),
        ({"size": 4, "durability": {"type": "disperse", "disperse": {"data": 3, "redundancy": 1}}},
         400, "Invalid dispersion combination: 3+1"),
        ({"size": 4, "durability": {"type": "disperse"}}, 400,
         "Invalid dispersion combination: 0+0"),
        ({"size": 1, "gid": -1}, 400, "Bad group id less than zero"),
        ({"size": 1, "gid": 2147483647}, 400, "Bad group id equal or greater than 2**32"),
        ({"size": 1, "snapshot": {"enable": True, "factor": 0.5}}, 400, "Invalid snapshot factor"),
        ({"size": 1, "snapshot": {"enable": True, "factor": 101}}, 400, "Invalid snapshot factor"),
        ({"size": 1, "snapshot": {"enable": True}}, 400, "Invalid snapshot factor"),
        ({"size": 1, "clusters": [missing]}, 400, f"Cluster id {missing} not found"),
        ({"size": 1, "clusters": ["nope"]}, 400, "Cluster id nope not found"),
        ({"size": 1, "durability": {"type": "disperse", "disperse": {"data": 2, "redundancy": 1}}},
         400, ("Requested volume size (1 GB) is smaller than the minimum supported volume "
               "size (2097152)")),
        ({"size": "1"}, 422, "request unable to be parsed"),
        ({"size": 1.5}, 422, "request unable to be parsed"),
        ({"size": 1, "gid": "2001"}, 422, "request unable to be parsed"),
        ({"size": 1, "block": "true"}, 422, "request unable to be parsed"),
        ({"size": 1, "clusters": topo["cluster"]}, 422, "request unable to be parsed"),
        ({"size": 1, "glustervolumeoptions": "a b"}, 422, "request unable to be parsed"),
        ({"size": 1, "durability": {"replicate": {"replica": "3"}}}, 422,
         "request unable to be parsed"),
        ({"size": 1, "snapshot": {"factor": "x"}}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
        (b'{"size": 1,}', 422, "request unable to be parsed"),
    ])
    assert await dump(api) == before


async def test_no_clusters_configured(api):
    text_error(await api.post("/volumes", {"size": 1}), 400, "No clusters configured")
    text_error(await api.post("/volumes", {"size": 1, "clusters": [unknown_id()]}), 400,
               "No clusters configured")


async def two_small_clusters(api):
    ids = sorted([await api.cluster(), await api.cluster()])
    for i, cid in enumerate(ids):
        nid = await api.node(cid, i + 1)
        await api.device(nid)
    return ids


def no_space(reply, prefix):
    """500 whose text starts with heketi's ``<prefix>: No space``."""
    assert reply.status == 500 and reply.text.startswith(prefix), (reply.status, reply.text)


async def test_no_space_is_a_synchronous_500(api):
    await topology(api, nodes=3, devices=1)
    before = await dump(api)
    no_space(await api.post("/volumes", {"size": 10000, "durability": R3}),
             "Failed to allocate new volume: No space")
    vol = await api.volume(1)
    no_space(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 100000}),
             "Failed to allocate volume expansion: No space")
    assert json_ok(await api.get(f"/volumes/{vol['id']}")) == vol
    assert (await dump(api))["clusterentries"].keys() == before["clusterentries"].keys()


async def test_multi_cluster_allocation_error_layout(api):
    ids = await two_small_clusters(api)
    r = await api.post("/volumes", {"size": 1000})
    lines = r.text.split("\n")
    assert r.status == 500 and len(lines) == 4 and lines[3] == "", r.text
    assert lines[0] == "Failed to allocate new volume: Unable to create volume on any cluster:"
    assert lines[1].startswith(f"Cluster {ids[0]}: No space")
    assert lines[2].startswith(f"Cluster {ids[1]}: No space")


# heketi answers a bare "No space" (spec §1.8, §11.3).  pyketi keeps that prefix and says
# why after it (issue: "No space" errors came with free space and no reason).

async def test_no_space_keeps_heketis_prefix_and_says_why(api):
    await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 10000, "durability": R3})
    assert r.status == 500
    assert r.text == ("Failed to allocate new volume: No space: largest free device has "
                      "500 GiB but each of 3 bricks needs 1.2 TiB (tried splitting into up to "
                      "8 brick sets; maximum number of bricks (32) reached)\n"), r.text


async def test_expand_no_space_keeps_heketis_prefix_and_says_why(api):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 100000})
    assert r.status == 500
    assert r.text == ("Failed to allocate volume expansion: No space: maximum number of bricks "
                      "(32) reached: the volume already has 3 bricks and needs 96 more\n"), r.text


async def test_zone_reason_is_given_in_plain_words(api):
    await api.topology(nodes=3, devices=1, zones=2)
    r = await api.post("/volumes", {"size": 1, "durability": R3, "glustervolumeoptions":
                                    ["user.heketi.zone-checking strict"]})
    assert r.status == 500
    assert r.text == ("Failed to allocate new volume: No space: zone checking is strict and "
                      "replica 3 needs 3 zones, cluster has 2\n"), r.text


async def test_multi_cluster_no_space_lists_each_cluster_with_its_reason(api):
    ids = await two_small_clusters(api)
    r = await api.post("/volumes", {"size": 1000})
    assert r.status == 500
    lines = r.text.split("\n")
    assert lines[0] == "Failed to allocate new volume: Unable to create volume on any cluster:"
    for line, cid in zip(lines[1:3], ids):
        assert line.startswith(f"Cluster {cid}: No space: "), line
        assert "largest free device has" in line


async def test_list(api):
    r = await api.get("/volumes")
    assert (json_ok(r, 200, ["volumes"]), r.text) == ({"volumes": []}, '{"volumes":[]}\n')
    await topology(api, nodes=3, devices=1)
    ids = [(await api.volume(1))["id"] for _ in range(3)]
    assert json_ok(await api.get("/volumes")) == {"volumes": sorted(ids)}


async def test_info_unknown(api):
    text_error(await api.get(f"/volumes/{unknown_id()}"), 404, "Id not found")
    text_error(await api.get("/volumes/vol_1"), 404, "Invalid path or request")


async def test_mount_hosts_are_all_cluster_nodes(api):
    topo = await topology(api, nodes=4, devices=1)
    vol = await api.volume(1)
    hosts = await storage_hosts(api, topo["cluster"])
    assert len(hosts) == 4 and len({b["node"] for b in vol["bricks"]}) == 3
    assert vol["mount"]["glusterfs"]["hosts"] == hosts
    # recomputed on every read: a node added later appears
    new = await api.node(topo["cluster"], 9)
    again = json_ok(await api.get(f"/volumes/{vol['id']}"))
    hosts = await storage_hosts(api, topo["cluster"])
    assert "10.99.0.9" in hosts
    assert new in json_ok(await api.get(f"/clusters/{topo['cluster']}"))["nodes"]
    assert again["mount"] == {"glusterfs": {
        "hosts": hosts, "device": f"{hosts[0]}:{vol['name']}",
        "options": {"backup-volfile-servers": ",".join(hosts[1:])}}}


async def test_mount_of_a_one_node_cluster(api):
    await topology(api, nodes=1, devices=1)
    vol = await create(api, {"size": 1})
    assert vol["mount"] == {"glusterfs": {"hosts": ["10.99.0.1"],
                                          "device": f"10.99.0.1:{vol['name']}",
                                          "options": {"backup-volfile-servers": ""}}}


async def test_delete(api):
    topo = await topology(api, nodes=3, devices=1)
    keep = await api.volume(1)
    vol = await api.volume(2)
    r = await api.delete(f"/volumes/{vol['id']}")
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.text) == (204, "")
    text_error(await api.get(f"/volumes/{vol['id']}"), 404, "Id not found")
    assert json_ok(await api.get("/volumes")) == {"volumes": [keep["id"]]}
    assert json_ok(await api.get(f"/clusters/{topo['cluster']}"))["volumes"] == [keep["id"]]
    assert await api.done(await api.delete(f"/volumes/{keep['id']}")) is None
    for did in topo["devices"]:
        device = json_ok(await api.get(f"/devices/{did}"))
        assert (device["storage"]["free"], device["bricks"]) == (MOCK_DEVICE_KIB, [])


async def test_delete_unknown(api):
    text_error(await api.delete(f"/volumes/{unknown_id()}"), 404, "Id not found")


async def test_heketi_db_volume_cannot_be_deleted(api):
    await topology(api, nodes=3, devices=1)
    vol = await create(api, {"size": 1, "name": "heketidbstorage", "durability": R3})
    text_error(await api.delete(f"/volumes/{vol['id']}"), 409,
               "Cannot delete volume containing the Heketi database")
    assert json_ok(await api.get(f"/volumes/{vol['id']}")) == vol


async def test_expand(api):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 2})
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.headers["Location"]) == (303, f"/volumes/{vol['id']}")
    after = json_ok(await api.get(f"/volumes/{vol['id']}"), 200, VOLUME_KEYS)
    assert after["size"] == 3
    old = {b["id"] for b in vol["bricks"]}
    assert old < {b["id"] for b in after["bricks"]} and len(after["bricks"]) == 6
    assert sorted(b["size"] for b in after["bricks"] if b["id"] not in old) == [2 * GIB] * 3
    assert {k: v for k, v in after.items() if k not in ("size", "bricks")} == \
        {k: v for k, v in vol.items() if k not in ("size", "bricks")}


async def test_expand_bad_requests(api):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    path = f"/volumes/{vol['id']}/expand"
    await check_errors(api, "POST", path, [
        ({}, 400, "validation failed: expand_size: cannot be blank."),
        ({"expand_size": -2}, 400, "validation failed: expand_size: must be no less than 1."),
        ({"expand_size": "2"}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
    ])
    # validation runs before the id lookup (spec §11.2)
    await check_errors(api, "POST", f"/volumes/{unknown_id()}/expand", [
        ({}, 400, "validation failed: expand_size: cannot be blank."),
    ])
    text_error(await api.post(f"/volumes/{unknown_id()}/expand", {"expand_size": 1}), 404,
               "Id not found")
    assert json_ok(await api.get(path[:-7])) == vol


async def test_clone(api):
    topo = await topology(api, nodes=3, devices=1)
    vol = await create(api, {"size": 1, "durability": R3, "gid": 5,
                             "snapshot": {"enable": True, "factor": 2}})
    used = [json_ok(await api.get(f"/devices/{d}"))["storage"]["used"] for d in topo["devices"]]
    r = await api.post(f"/volumes/{vol['id']}/clone", {})
    accepted(r)
    final = await api.wait(r)
    assert final.status == 303
    cid = final.headers["Location"][len("/volumes/"):]
    assert ID_RE.match(cid) and cid != vol["id"]
    clone = json_ok(await api.get(f"/volumes/{cid}"), 200)
    assert clone["name"] == f"vol_{cid}"
    for key in ("size", "durability", "gid", "glustervolumeoptions", "snapshot", "cluster"):
        assert clone[key] == vol[key], key
    assert len(clone["bricks"]) == 3 and not {b["id"] for b in clone["bricks"]} & \
        {b["id"] for b in vol["bricks"]}
    # clone bricks share the origin's thin pools: no extra device space
    assert [json_ok(await api.get(f"/devices/{d}"))["storage"]["used"]
            for d in topo["devices"]] == used
    named = await api.done(await api.post(f"/volumes/{vol['id']}/clone", {"name": "snap_1"}))
    assert named["name"] == "snap_1"
    assert sorted(json_ok(await api.get("/volumes"))["volumes"]) == sorted(
        [vol["id"], cid, named["id"]])


async def test_clone_bad_requests(api):
    await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    before = await dump(api)
    await check_errors(api, "POST", f"/volumes/{vol['id']}/clone", [
        ({"name": "bad name"}, 400, "validation failed: name: must be in a valid format."),
        ({"name": 5}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
    ])
    text_error(await api.post(f"/volumes/{unknown_id()}/clone", {}), 404, "Id not found")
    assert await dump(api) == before


async def test_clone_of_block_hosting_volume_is_refused(api):
    # heketi answers 500 (spec §1.8); client mistakes get a 409 here (spec §11.8)
    await block_cluster(api)
    vol = await create(api, {"size": 10, "block": True, "durability": R3})
    text_error(await api.post(f"/volumes/{vol['id']}/clone", {}), 409,
               f"Failed clone volume {vol['id']}: Cloning of block hosting volumes is not "
               "supported")


async def test_block_restriction_lock_and_unlock(api):
    await block_cluster(api)
    vol = await create(api, {"size": 100, "block": True, "durability": R3})
    path = f"/volumes/{vol['id']}/block-restriction"
    r = await api.post(path, {"restriction": "locked"})
    accepted(r)
    final = await api.wait(r)
    assert (final.status, final.headers["Location"]) == (303, f"/volumes/{vol['id']}")
    info = json_ok(await api.get(f"/volumes/{vol['id']}"))
    assert info["blockinfo"] == {"freesize": 98, "reservedsize": 2, "restriction": "locked"}
    assert list(info["blockinfo"]) == ["freesize", "reservedsize", "restriction"]
    unlocked = await api.done(await api.post(path, {"restriction": ""}))
    assert unlocked["blockinfo"] == {"freesize": 98, "reservedsize": 2}


async def test_block_restriction_bad_requests(api):
    await block_cluster(api)
    bhv = await create(api, {"size": 10, "block": True, "durability": R3})
    plain = await create(api, {"size": 1, "durability": R3})
    before = await dump(api)
    await check_errors(api, "POST", f"/volumes/{bhv['id']}/block-restriction", [
        ({"restriction": "locked-by-update"}, 400,
         "validation failed: restriction: must be a valid value."),
        ({"restriction": True}, 422, "request unable to be parsed"),
        (b"", 422, "request unable to be parsed"),
    ])
    # heketi answers 500 here; spec §11.8 asks for a 409
    text_error(await api.post(f"/volumes/{plain['id']}/block-restriction",
                              {"restriction": "locked"}), 409,
               "Failed to set block restriction: Block restrictions can only be set on block "
               "hosting volumes")
    text_error(await api.post(f"/volumes/{unknown_id()}/block-restriction",
                              {"restriction": "locked"}), 404, "Id not found")
    assert await dump(api) == before


async def test_pending_create_is_invisible(gated_api):
    api, executor = await gated_api("volume_create")
    topo = await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": R3})
    accepted(r)
    await executor.reached()
    [vid] = (await dump(api))["volumeentries"]
    text_error(await api.get(f"/volumes/{vid}"), 404, "Id not found")
    assert json_ok(await api.get("/volumes")) == {"volumes": []}
    assert json_ok(await api.get(f"/clusters/{topo['cluster']}"))["volumes"] == []
    for did in topo["devices"]:
        assert json_ok(await api.get(f"/devices/{did}"))["bricks"] == []
    busy = f"Volume {vid} is busy with another operation; retry later"
    text_error(await api.delete(f"/volumes/{vid}"), 409, busy)
    text_error(await api.post(f"/volumes/{vid}/expand", {"expand_size": 1}), 409, busy)
    executor.release()
    vol = await api.done(r)
    assert vol["id"] == vid
    assert json_ok(await api.get("/volumes")) == {"volumes": [vid]}


async def test_volume_being_deleted_is_invisible_at_once(gated_api):
    api, executor = await gated_api("volume_destroy")
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    r = await api.delete(f"/volumes/{vol['id']}")
    accepted(r)
    text_error(await api.get(f"/volumes/{vol['id']}"), 404, "Id not found")
    assert json_ok(await api.get("/volumes")) == {"volumes": []}
    assert json_ok(await api.get(f"/clusters/{topo['cluster']}"))["volumes"] == []
    # a second delete: heketi answers 500 "Failed to set up volume delete: ..." (spec §1.8);
    # operations on one object are refused with a 409 instead (spec §11.8, §11.10)
    text_error(await api.delete(f"/volumes/{vol['id']}"), 409,
               f"Volume {vol['id']} is busy with another operation; retry later")
    executor.release()
    assert (await api.wait(r)).status == 204


@pytest.mark.parametrize("second", ["expand", "delete", "clone"])
async def test_second_operation_on_a_busy_volume_is_refused(gated_api, second):
    api, executor = await gated_api("volume_expand")
    await topology(api, nodes=3, devices=2)
    vol = await api.volume(1)
    vid = vol["id"]
    first = await api.post(f"/volumes/{vid}/expand", {"expand_size": 1})
    accepted(first)
    await executor.reached()
    before = await dump(api)
    request = {"expand": lambda: api.post(f"/volumes/{vid}/expand", {"expand_size": 1}),
               "delete": lambda: api.delete(f"/volumes/{vid}"),
               "clone": lambda: api.post(f"/volumes/{vid}/clone", {})}[second]
    text_error(await request(), 409, f"Volume {vid} is busy with another operation; retry later")
    assert await dump(api) == before
    during = json_ok(await api.get(f"/volumes/{vid}"))  # still visible while expanding
    assert during["size"] == 1 and {b["id"] for b in vol["bricks"]} <= \
        {b["id"] for b in during["bricks"]}
    executor.release()
    assert (await api.done(first))["size"] == 2
    assert (await request()).status == 202  # free again
