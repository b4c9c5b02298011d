"""Crash recovery: SIGKILL the server in the middle of a multi-step operation,
restart it on the same database and node state, and show nothing is left
half-done — on the (mock) nodes, in the database, or in the async queue."""

from __future__ import annotations

import json

from crashserver import (DEVICE_KIB, mock_glusterfs, node_state, servers,  # noqa: F401
                         topology, wait_until)


def test_kill_during_volume_create_leaves_nothing_half_done(servers, tmp_path):
    state = tmp_path / "nodes.json"
    # volume_create (the gluster step, after all bricks exist) hangs: the crash point
    first = servers(mock_glusterfs(state, [{"call": "volume_create", "nth": 1, "action": "hang",
                                   "seconds": 600}]))
    devices = topology(first)
    status, headers, _ = first.request("POST", "/volumes", {
        "size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}})
    assert status == 202
    queue = headers["Location"]

    def bricks_on_all_nodes():
        hosts = node_state(state) if state.exists() else {}
        return sum(len(h["bricks"]) for h in hosts.values()) == 3
    wait_until(bricks_on_all_nodes, what="bricks created on the 3 nodes")
    status, _, body = first.request("GET", "/operations")
    assert json.loads(body)["total"] == 1
    first.kill()

    second = servers(mock_glusterfs(state))
    # start-up is not blocked by the cleanup: the server answers at once
    assert second.request("GET", "/hello", auth=False)[0] == 200

    def cleaned():
        return json.loads(second.request("GET", "/operations")[2])["total"] == 0
    wait_until(cleaned, what="the stale operation to be cleaned")

    # the job accepted by the dead process is answered, with the reason
    status, _, body = second.request("GET", queue)
    assert status == 500
    assert "interrupted" in body and "rolled back" in body
    assert second.request("GET", queue)[0] == 404

    # nothing half-created: no volume, space given back, nodes clean
    assert json.loads(second.request("GET", "/volumes")[2]) == {"volumes": []}
    for device_id in devices:
        storage = json.loads(second.request("GET", f"/devices/{device_id}")[2])["storage"]
        assert storage == {"total": DEVICE_KIB, "free": DEVICE_KIB, "used": 0}
    for host, node in node_state(state).items():
        assert node["bricks"] == {} and node["pools"] == {} and node["volumes"] == {}, host
    check = json.loads(second.request("GET", "/db/check")[2])
    assert check["totalinconsistencies"] == 0

    # and the cluster is fully usable again
    status, _, body = second.done(second.request("POST", "/volumes", {
        "size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    assert status == 303


def test_kill_during_volume_delete_finishes_the_delete(servers, tmp_path):
    state = tmp_path / "nodes.json"
    first = servers(mock_glusterfs(state, [{"call": "bricks_destroy", "nth": 1, "action": "hang",
                                   "seconds": 600}]))
    devices = topology(first)
    _, h, _ = first.done(first.request("POST", "/volumes", {
        "size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
    vid = h["Location"].rsplit("/", 1)[1]
    status, headers, _ = first.request("DELETE", f"/volumes/{vid}")
    assert status == 202

    def gluster_volume_gone():
        return all(not n["volumes"] for n in node_state(state).values())
    wait_until(gluster_volume_gone, what="gluster volume deleted")
    # the volume is already invisible while its delete runs
    assert first.request("GET", f"/volumes/{vid}")[0] == 404
    first.kill()

    second = servers(mock_glusterfs(state))
    wait_until(lambda: json.loads(second.request("GET", "/operations")[2])["total"] == 0,
                what="the delete to be completed by the cleaner")
    assert second.request("GET", f"/volumes/{vid}")[0] == 404
    for host, node in node_state(state).items():
        assert node["bricks"] == {} and node["pools"] == {}, host
    for device_id in devices:
        storage = json.loads(second.request("GET", f"/devices/{device_id}")[2])["storage"]
        assert storage["free"] == DEVICE_KIB
    dump = json.loads(second.request("GET", "/db/dump")[2])
    assert dump["volumeentries"] == {} and dump["brickentries"] == {}
