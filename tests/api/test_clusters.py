"""/clusters routes (spec §1.5, §10.2, §11.4)."""

from apihelp import (CLUSTER_KEYS, ID_RE, JSON_CT, dump, json_ok, node_body, text_error, topology,
                     unknown_id)


async def test_create_with_empty_object_defaults_flags_to_false(api):
    r = await api.post("/clusters", {})
    info = json_ok(r, 201, CLUSTER_KEYS)
    assert ID_RE.match(info["id"])
    assert info == {"id": info["id"], "nodes": [], "volumes": [], "block": False,
                    "file": False, "blockvolumes": []}


async def test_create_echoes_flags_and_info_matches(api):
    r = await api.post("/clusters", {"block": True, "file": True, "unknown": [1, 2]})
    created = json_ok(r, 201, CLUSTER_KEYS)
    assert (created["block"], created["file"]) == (True, True)
    info = json_ok(await api.get(f"/clusters/{created['id']}"), 200, CLUSTER_KEYS)
    assert info == created


async def test_create_with_one_flag(api):
    created = json_ok(await api.post("/clusters", {"file": True}), 201)
    assert (created["block"], created["file"]) == (False, True)


async def test_create_empty_body_is_a_parse_error(api):
    text_error(await api.post("/clusters", raw=b""), 422, "request unable to be parsed")
    assert json_ok(await api.get("/clusters")) == {"clusters": []}


async def test_create_wrong_flag_type_is_a_parse_error(api):
    text_error(await api.post("/clusters", {"block": "yes"}), 422, "request unable to be parsed")
    text_error(await api.post("/clusters", [True]), 422, "request unable to be parsed")
    assert json_ok(await api.get("/clusters")) == {"clusters": []}


async def test_list_is_empty_list_not_null(api):
    r = await api.get("/clusters")
    assert json_ok(r, 200, ["clusters"]) == {"clusters": []}
    assert r.text == '{"clusters":[]}\n'


async def test_list_is_sorted(api):
    ids = [await api.cluster() for _ in range(4)]
    assert json_ok(await api.get("/clusters")) == {"clusters": sorted(ids)}


async def test_info_unknown_id(api):
    text_error(await api.get(f"/clusters/{unknown_id()}"), 404, "Id not found")
    text_error(await api.get("/clusters/abc"), 404, "Id not found")


async def test_info_non_hex_id_matches_no_route(api):
    text_error(await api.get("/clusters/badid"), 404, "Invalid path or request")


async def test_info_upper_case_id_is_another_id(api):
    cid = await api.cluster()
    text_error(await api.get(f"/clusters/{cid.upper()}"), 404, "Id not found")


async def test_info_lists_nodes_and_volumes_sorted(api):
    topo = await topology(api, nodes=3, devices=1)
    vols = [(await api.volume(1))["id"] for _ in range(3)]
    info = json_ok(await api.get(f"/clusters/{topo['cluster']}"), 200, CLUSTER_KEYS)
    assert info["nodes"] == sorted(topo["nodes"])
    assert info["volumes"] == sorted(vols)
    assert info["blockvolumes"] == []


async def test_delete_empty_cluster(api):
    keep, gone = await api.cluster(), await api.cluster()
    r = await api.delete(f"/clusters/{gone}")
    assert (r.status, r.text) == (200, "")
    assert "Content-Type" not in r.headers  # spec §11.4
    text_error(await api.get(f"/clusters/{gone}"), 404, "Id not found")
    assert json_ok(await api.get("/clusters")) == {"clusters": [keep]}


async def test_delete_unknown(api):
    text_error(await api.delete(f"/clusters/{unknown_id()}"), 404, "Id not found")


async def test_delete_cluster_with_nodes_is_refused(api):
    cid = await api.cluster()
    await api.node(cid, 1)
    before = await dump(api)
    text_error(await api.delete(f"/clusters/{cid}"), 409,
               f"Unable to delete cluster [{cid}] because it contains volumes and/or nodes")
    assert await dump(api) == before


async def test_delete_twice(api):
    cid = await api.cluster()
    assert (await api.delete(f"/clusters/{cid}")).status == 200
    text_error(await api.delete(f"/clusters/{cid}"), 404, "Id not found")


async def test_set_flags_overwrites_both(api):
    cid = await api.cluster(block=False, file=True)
    r = await api.post(f"/clusters/{cid}/flags", {"block": True})
    assert (r.status, r.text) == (200, "")
    assert r.headers.get("Content-Type") == JSON_CT  # spec §1.5: JSON type, empty body
    info = json_ok(await api.get(f"/clusters/{cid}"))
    assert (info["block"], info["file"]) == (True, False)
    assert (await api.post(f"/clusters/{cid}/flags", {})).status == 200
    info = json_ok(await api.get(f"/clusters/{cid}"))
    assert (info["block"], info["file"]) == (False, False)


async def test_set_flags_unknown_cluster(api):
    text_error(await api.post(f"/clusters/{unknown_id()}/flags", {"block": True}), 404,
               "Id not found")


async def test_set_flags_bad_json(api):
    cid = await api.cluster(block=True, file=True)
    text_error(await api.post(f"/clusters/{cid}/flags", raw=b"{block"), 422,
               "request unable to be parsed")
    text_error(await api.post(f"/clusters/{cid}/flags", {"file": 1}), 422,
               "request unable to be parsed")
    info = json_ok(await api.get(f"/clusters/{cid}"))
    assert (info["block"], info["file"]) == (True, True)


async def test_cluster_without_volume_types_refuses_volumes(api):
    cid = await api.cluster(block=False, file=False)
    for i in range(1, 4):
        await api.node(cid, i)
    text_error(await api.post("/volumes", {"size": 1}), 500,
               "Failed to allocate new volume: Cluster has disabled all volume types")


async def test_block_only_cluster_refuses_file_volumes(api):
    cid = await api.cluster(block=True, file=False)
    r = await api.post("/nodes", node_body(cid, 1))
    assert r.status == 202
    await api.wait(r)
    text_error(await api.post("/volumes", {"size": 1}), 500,
               "Failed to allocate new volume: Cluster does not support requested volume type")
