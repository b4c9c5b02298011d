"""Controller RPCs against a real pyketi server (mock executor), through
the driver's unix socket: what a CO sees, and what the server then holds."""

from __future__ import annotations

import threading

import grpc
import pytest
from csihelp import (ADMIN_SECRET, GIB, Mode, add_nodes, block_cap, cap, create_request,
                     expect_code)

from pyketi.client import Client
from pyketi.csi.backend import RestConfig
from pyketi.csi.proto import csi_pb2 as pb

C = grpc.StatusCode


def test_create_maps_storageclass_parameters_like_the_in_tree_plugin(driver, admin):
    cluster = admin.cluster_list()["clusters"][0]
    req = create_request("pvc-0f1e2d3c-aaaa-bbbb-cccc-000000000001", required=4 * GIB + 1,
                         parameters={
                             "clusterid": cluster, "volumetype": "disperse:4:2",
                             "volumeoptions": "performance.read-ahead off,user.x 1",
                             "volumenameprefix": "k8s", "snapfactor": "2",
                             "gidMin": "40000", "gidMax": "40010",
                             "csi.storage.k8s.io/pvc/name": "data.db",
                             "csi.storage.k8s.io/pvc/namespace": "shop",
                             "csi.storage.k8s.io/pv/name": "pvc-0f1e"})
    # disperse 4+2 needs six nodes
    add_nodes_to(admin, cluster, 3)
    vol = driver.controller.CreateVolume(req).volume
    assert vol.capacity_bytes == 5 * GIB          # rounded up to whole GiB
    info = admin.volume_info(vol.volume_id)
    assert info["name"] == "k8s_shop_data-db_pvc-0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    assert info["size"] == 5 and info["cluster"] == cluster
    assert info["durability"]["type"] == "disperse"
    assert info["durability"]["disperse"] == {"data": 4, "redundancy": 2}
    assert info["gid"] == 40000
    assert "performance.read-ahead off" in info["glustervolumeoptions"]
    assert "user.x 1" in info["glustervolumeoptions"]
    assert info["snapshot"] == {"enable": True, "factor": 2}
    ctx = vol.volume_context
    assert ctx["glusterVolume"] == info["name"]
    assert ctx["glusterHosts"].split(",") == info["mount"]["glusterfs"]["hosts"]
    assert ctx["gid"] == "40000"


def add_nodes_to(admin: Client, cluster: str, count: int) -> None:
    for i in range(count):
        node = admin.node_add(cluster=cluster, zone=10 + i, manage=f"csi-extra{i}",
                              storage=f"192.0.2.{100 + i}")
        admin.device_add(node=node["id"], name="/dev/sdb")


def test_defaults_are_replicate_3_and_gids_from_2000(driver, admin):
    a = driver.controller.CreateVolume(create_request("pvc-a")).volume
    b = driver.controller.CreateVolume(create_request("pvc-b")).volume
    ia, ib = admin.volume_info(a.volume_id), admin.volume_info(b.volume_id)
    assert ia["durability"]["type"] == "replicate"
    assert ia["durability"]["replicate"] == {"replica": 3}
    assert (ia["gid"], ib["gid"]) == (2000, 2001)
    assert ia["name"] == "pvc-a"
    assert ia["snapshot"]["enable"] is True


def test_create_is_idempotent_by_name(driver, admin):
    req = create_request("pvc-retry", required=3 * GIB)
    first = driver.controller.CreateVolume(req).volume
    second = driver.controller.CreateVolume(req).volume
    assert first == second
    assert admin.volume_list()["volumes"] == [first.volume_id]


def test_retry_after_a_restart_finds_the_volume(driver, admin, driver_factory):
    """A fresh driver process (empty memory) still answers with the same volume."""
    req = create_request("pvc-restart", parameters={"volumenameprefix": "app"})
    first = driver.controller.CreateVolume(req).volume
    other = driver_factory(driver.rest, mode="controller")
    assert other.controller.CreateVolume(req).volume.volume_id == first.volume_id
    assert len(admin.volume_list()["volumes"]) == 1


def test_volume_made_behind_the_index_is_found_through_the_name_clash(driver, admin):
    """The driver has listed the volumes already; a volume of the same name made
    meanwhile (e.g. by a previous driver instance) is found, not duplicated."""
    driver.controller.CreateVolume(create_request("pvc-first"))
    made = admin.volume_create(size=1, name="pvc-late", durability="replicate", replica=3,
                               gid=2005, snapshot_factor=1.0)
    got = driver.controller.CreateVolume(create_request("pvc-late")).volume
    assert got.volume_id == made["id"]
    assert len(admin.volume_list()["volumes"]) == 2


def test_same_name_with_other_parameters_is_already_exists(driver, admin):
    driver.controller.CreateVolume(create_request("pvc-x", required=GIB))
    err = expect_code(C.ALREADY_EXISTS, driver.controller.CreateVolume,
                      create_request("pvc-x", required=5 * GIB))
    assert "size" in err.details()
    err = expect_code(C.ALREADY_EXISTS, driver.controller.CreateVolume,
                      create_request("pvc-x", parameters={"volumetype": "none"}))
    assert "durability" in err.details()
    # another prefix: same CSI name, so the same volume, but it is named otherwise
    expect_code(C.ALREADY_EXISTS, driver.controller.CreateVolume,
                create_request("pvc-x", parameters={"volumenameprefix": "p"}))
    assert len(admin.volume_list()["volumes"]) == 1


def test_concurrent_same_name_is_aborted_not_duplicated(server_factory, driver_factory):
    """While a create hangs on the node, a retry of the same name is ABORTED."""
    srv = server_factory(glusterfs={
        "executor": "fault", "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang", "seconds": 3}]}})
    admin = Client(srv.url, "admin", ADMIN_SECRET)
    add_nodes(admin)
    drv = driver_factory(RestConfig(srv.url, "admin", ADMIN_SECRET))
    req = create_request("pvc-slow")
    results = []
    first = threading.Thread(target=lambda: results.append(drv.controller.CreateVolume(req)))
    first.start()
    try:
        for _ in range(100):                       # wait until the job is on the server
            if admin.operations_info()["in_flight"]:
                break
            threading.Event().wait(0.05)
        expect_code(C.ABORTED, drv.controller.CreateVolume, req)
    finally:
        first.join(30)
    again = drv.controller.CreateVolume(req).volume
    assert again.volume_id == results[0].volume.volume_id
    assert admin.volume_list()["volumes"] == [again.volume_id]


def test_busy_server_is_aborted_so_the_sidecar_retries(server_factory, driver_factory):
    """The server answers 429 while its only operation slot is taken: ABORTED
    after the driver's two short retries, and the retry later succeeds."""
    srv = server_factory(glusterfs={
        "executor": "fault", "max_inflight_operations": 1,
        "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang", "seconds": 4}]}})
    admin = Client(srv.url, "admin", ADMIN_SECRET)
    add_nodes(admin)
    drv = driver_factory(RestConfig(srv.url, "admin", ADMIN_SECRET))
    first = threading.Thread(target=drv.controller.CreateVolume,
                             args=(create_request("pvc-busy1"),))
    first.start()
    try:
        for _ in range(100):
            if admin.operations_info()["in_flight"]:
                break
            threading.Event().wait(0.05)
        err = expect_code(C.ABORTED, drv.controller.CreateVolume, create_request("pvc-busy2"))
        assert "busy" in err.details().lower()
    finally:
        first.join(30)
    drv.controller.CreateVolume(create_request("pvc-busy2"))
    assert len(admin.volume_list()["volumes"]) == 2


@pytest.mark.parametrize("parameters, text", [
    ({"volumetype": "mirror:2"}, "error parsing value for option 'volumetype'"),
    ({"volumetype": "disperse:4"}, "data:redundancy count"),
    ({"volumetype": "replicate:x"}, 'error parsing volumeType "x"'),
    ({"gidMin": "10"}, "gidMin must be >= 2000"),
    ({"gidMin": "5000", "gidMax": "4000"}, "gidMax value >= gidMin"),
    ({"snapfactor": "200"}, "invalid snapshot factor 200"),
    ({"volumenameprefix": "a_b"}, "should not contain '_'"),
    ({"colour": "blue"}, 'invalid option "colour"'),
    ({"csi.storage.k8s.io/unknown": "x"}, "invalid option"),
])
def test_bad_parameters_are_invalid_argument(shared_driver, parameters, text):
    driver, admin = shared_driver
    err = expect_code(C.INVALID_ARGUMENT, driver.controller.CreateVolume,
                      create_request("pvc-bad", parameters=parameters))
    assert text in err.details()
    assert admin.volume_list()["volumes"] == []


@pytest.mark.parametrize("req, code", [
    (pb.CreateVolumeRequest(volume_capabilities=[cap()]), C.INVALID_ARGUMENT),
    (pb.CreateVolumeRequest(name="pvc-n"), C.INVALID_ARGUMENT),
    (create_request("pvc-n", caps=[block_cap()]), C.INVALID_ARGUMENT),
    (create_request("pvc-n", caps=[cap(mode=Mode.UNKNOWN)]), C.INVALID_ARGUMENT),
    (create_request("pvc-n", caps=[cap(fs_type="ext4")]), C.INVALID_ARGUMENT),
    (create_request("pvc-n", caps=[pb.VolumeCapability(access_mode=Mode(mode=1))]),
     C.INVALID_ARGUMENT),
    (create_request("pvc-n", required=-1), C.INVALID_ARGUMENT),
    (create_request("pvc-n", required=2 * GIB, limit=GIB), C.OUT_OF_RANGE),
    (create_request("pvc-n", required=GIB + 1, limit=GIB + 2), C.OUT_OF_RANGE),
    (create_request("bad\x01name"), C.INVALID_ARGUMENT),
    (create_request("x" * 129), C.INVALID_ARGUMENT),
])
def test_invalid_create_requests(shared_driver, req, code):
    driver, admin = shared_driver
    expect_code(code, driver.controller.CreateVolume, req)
    assert admin.volume_list()["volumes"] == []


def test_capacity_rounding_and_limits(driver, admin):
    ctl = driver.controller
    assert ctl.CreateVolume(create_request("pvc-r1", required=1)).volume.capacity_bytes == GIB
    only_limit = create_request("pvc-r2", required=0, limit=3 * GIB + 5)
    assert ctl.CreateVolume(only_limit).volume.capacity_bytes == 3 * GIB
    exact = create_request("pvc-r3", required=2 * GIB, limit=2 * GIB)
    assert ctl.CreateVolume(exact).volume.capacity_bytes == 2 * GIB
    no_range = pb.CreateVolumeRequest(name="pvc-r4", volume_capabilities=[cap()])
    assert ctl.CreateVolume(no_range).volume.capacity_bytes == GIB
    sizes = sorted(admin.volume_info(v)["size"] for v in admin.volume_list()["volumes"])
    assert sizes == [1, 1, 2, 3]


def test_no_space_is_resource_exhausted_with_the_servers_reason(shared_driver):
    driver, admin = shared_driver
    err = expect_code(C.RESOURCE_EXHAUSTED, driver.controller.CreateVolume,
                      create_request("pvc-huge", required=100000 * GIB))
    assert "No space" in err.details()
    assert admin.volume_list()["volumes"] == []


def test_unknown_cluster_is_invalid_argument(shared_driver):
    driver, _ = shared_driver
    err = expect_code(C.INVALID_ARGUMENT, driver.controller.CreateVolume,
                      create_request("pvc-c", parameters={"clusterid": "0" * 32}))
    assert "not found" in err.details()


def test_server_down_is_unavailable(driver_factory, server_factory):
    srv = server_factory()
    url = srv.url
    srv.stop()
    drv = driver_factory(RestConfig(url, "admin", ADMIN_SECRET, timeout=2.0))
    expect_code(C.UNAVAILABLE, drv.controller.CreateVolume, create_request("pvc-down"))
    expect_code(C.UNAVAILABLE, drv.controller.DeleteVolume,
                pb.DeleteVolumeRequest(volume_id="a" * 32))


def test_secret_key_and_storageclass_resturl_override_the_defaults(server, admin,
                                                                   driver_factory):
    add_nodes(admin)
    drv = driver_factory(RestConfig("http://127.0.0.1:9", "admin", "wrong"))
    params = {"resturl": server.url, "restuser": "admin"}
    expect_code(C.UNAUTHENTICATED, drv.controller.CreateVolume,
                create_request("pvc-s", parameters=params))
    vol = drv.controller.CreateVolume(create_request(
        "pvc-s", parameters=params, secrets={"key": ADMIN_SECRET})).volume
    # DeleteVolume carries no parameters: the id names the server
    heketi_id = vol.volume_id.split("@")[0]
    assert vol.volume_id == f"{heketi_id}@{server.url}"
    assert admin.volume_info(heketi_id)["name"] == "pvc-s"
    # the driver's own (wrong) key is not sent to another server
    expect_code(C.UNAUTHENTICATED, drv.controller.DeleteVolume,
                pb.DeleteVolumeRequest(volume_id=vol.volume_id))
    drv.controller.DeleteVolume(pb.DeleteVolumeRequest(
        volume_id=vol.volume_id, secrets={"key": ADMIN_SECRET}))
    assert admin.volume_list()["volumes"] == []


def test_the_drivers_key_is_not_used_for_a_storageclass_server(driver, server_factory):
    other = server_factory()
    add_nodes(Client(other.url, "admin", ADMIN_SECRET))
    params = {"resturl": other.url}
    expect_code(C.UNAUTHENTICATED, driver.controller.CreateVolume,
                create_request("pvc-o", parameters=params))
    expect_code(C.UNAUTHENTICATED, driver.controller.GetCapacity,
                pb.GetCapacityRequest(parameters=params))
    vol = driver.controller.CreateVolume(create_request(
        "pvc-o", parameters=params, secrets={"key": ADMIN_SECRET})).volume
    assert vol.volume_id.endswith("@" + other.url)


def test_no_server_configured_is_failed_precondition(driver_factory):
    drv = driver_factory(RestConfig())
    err = expect_code(C.FAILED_PRECONDITION, drv.controller.CreateVolume,
                      create_request("pvc-n"))
    assert "resturl" in err.details()


def test_delete_is_idempotent_and_unknown_ids_are_ok(driver, admin):
    vol = driver.controller.CreateVolume(create_request("pvc-del")).volume
    for _ in range(2):
        driver.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vol.volume_id))
    assert admin.volume_list()["volumes"] == []
    driver.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id="f" * 32))
    driver.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id="../../clusters"))
    expect_code(C.INVALID_ARGUMENT, driver.controller.DeleteVolume, pb.DeleteVolumeRequest())
    # the name is free again: a new create makes a new volume
    again = driver.controller.CreateVolume(create_request("pvc-del")).volume
    assert again.volume_id != vol.volume_id


def test_expand(driver, admin):
    vol = driver.controller.CreateVolume(create_request("pvc-grow", required=GIB)).volume
    grow = pb.ControllerExpandVolumeRequest(
        volume_id=vol.volume_id, capacity_range=pb.CapacityRange(required_bytes=3 * GIB - 7))
    resp = driver.controller.ControllerExpandVolume(grow)
    assert (resp.capacity_bytes, resp.node_expansion_required) == (3 * GIB, False)
    assert admin.volume_info(vol.volume_id)["size"] == 3
    # again, and smaller: nothing changes
    assert driver.controller.ControllerExpandVolume(grow).capacity_bytes == 3 * GIB
    smaller = pb.ControllerExpandVolumeRequest(
        volume_id=vol.volume_id, capacity_range=pb.CapacityRange(required_bytes=GIB))
    assert driver.controller.ControllerExpandVolume(smaller).capacity_bytes == 3 * GIB
    assert admin.volume_info(vol.volume_id)["size"] == 3
    expect_code(C.NOT_FOUND, driver.controller.ControllerExpandVolume,
                pb.ControllerExpandVolumeRequest(volume_id="e" * 32,
                                                 capacity_range=grow.capacity_range))
    expect_code(C.INVALID_ARGUMENT, driver.controller.ControllerExpandVolume,
                pb.ControllerExpandVolumeRequest(volume_id=vol.volume_id))
    expect_code(C.OUT_OF_RANGE, driver.controller.ControllerExpandVolume,
                pb.ControllerExpandVolumeRequest(
                    volume_id=vol.volume_id,
                    capacity_range=pb.CapacityRange(required_bytes=GIB, limit_bytes=2 * GIB)))
    # a retried create with the old size range is now a conflict (size differs)
    expect_code(C.ALREADY_EXISTS, driver.controller.CreateVolume,
                create_request("pvc-grow", required=GIB, limit=GIB))


def test_clone_from_volume_echoes_the_source_and_grows_to_the_request(driver, admin):
    src = driver.controller.CreateVolume(create_request("pvc-src", required=GIB)).volume
    req = create_request("pvc-clone", required=2 * GIB, source_volume=src.volume_id)
    clone = driver.controller.CreateVolume(req).volume
    assert clone.content_source.volume.volume_id == src.volume_id
    assert clone.capacity_bytes == 2 * GIB
    info = admin.volume_info(clone.volume_id)
    assert info["name"] == "pvc-clone" and info["size"] == 2
    assert driver.controller.CreateVolume(req).volume == clone
    expect_code(C.NOT_FOUND, driver.controller.CreateVolume,
                create_request("pvc-c2", source_volume="d" * 32))
    expect_code(C.INVALID_ARGUMENT, driver.controller.CreateVolume,
                create_request("pvc-c3", source_volume=src.volume_id,
                               parameters={"volumetype": "none"}))
    expect_code(C.OUT_OF_RANGE, driver.controller.CreateVolume,
                create_request("pvc-c4", required=1, limit=GIB // 2 + GIB // 4,
                               source_volume=src.volume_id))
    snap = create_request("pvc-c5")
    snap.volume_content_source.snapshot.snapshot_id = "s1"
    expect_code(C.INVALID_ARGUMENT, driver.controller.CreateVolume, snap)
    assert len(admin.volume_list()["volumes"]) == 2


def test_validate_volume_capabilities(driver):
    vol = driver.controller.CreateVolume(create_request("pvc-v")).volume
    ok = driver.controller.ValidateVolumeCapabilities(pb.ValidateVolumeCapabilitiesRequest(
        volume_id=vol.volume_id, volume_capabilities=[cap(), cap(Mode.SINGLE_NODE_WRITER)],
        volume_context=vol.volume_context))
    assert list(ok.confirmed.volume_capabilities) == [cap(), cap(Mode.SINGLE_NODE_WRITER)]
    no = driver.controller.ValidateVolumeCapabilities(pb.ValidateVolumeCapabilitiesRequest(
        volume_id=vol.volume_id, volume_capabilities=[cap(), block_cap()]))
    assert not no.HasField("confirmed") and "block" in no.message
    expect_code(C.NOT_FOUND, driver.controller.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_id="c" * 32,
                                                     volume_capabilities=[cap()]))
    expect_code(C.INVALID_ARGUMENT, driver.controller.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_id=vol.volume_id))
    expect_code(C.INVALID_ARGUMENT, driver.controller.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_capabilities=[cap()]))


def test_list_volumes_pages(driver, admin):
    ids = sorted(driver.controller.CreateVolume(create_request(f"pvc-l{i}")).volume.volume_id
                 for i in range(5))
    seen, token, pages = [], "", 0
    while True:
        page = driver.controller.ListVolumes(pb.ListVolumesRequest(max_entries=2,
                                                                   starting_token=token))
        pages += 1
        assert len(page.entries) <= 2
        seen += [e.volume.volume_id for e in page.entries]
        for e in page.entries:
            assert e.volume.capacity_bytes == GIB
            assert e.status.volume_condition.abnormal is False
        token = page.next_token
        if not token:
            break
    assert (seen, pages) == (ids, 3)
    everything = driver.controller.ListVolumes(pb.ListVolumesRequest())
    assert [e.volume.volume_id for e in everything.entries] == ids
    assert everything.next_token == ""
    expect_code(C.ABORTED, driver.controller.ListVolumes,
                pb.ListVolumesRequest(starting_token="not-a-token"))
    expect_code(C.INVALID_ARGUMENT, driver.controller.ListVolumes,
                pb.ListVolumesRequest(max_entries=-1))
    # a volume deleted between pages does not make the next token invalid
    page = driver.controller.ListVolumes(pb.ListVolumesRequest(max_entries=2))
    admin.volume_delete(page.next_token)
    rest = driver.controller.ListVolumes(pb.ListVolumesRequest(starting_token=page.next_token))
    assert [e.volume.volume_id for e in rest.entries] == ids[3:]


def test_controller_get_volume_and_condition(driver, admin):
    vol = driver.controller.CreateVolume(create_request("pvc-g")).volume
    got = driver.controller.ControllerGetVolume(pb.ControllerGetVolumeRequest(
        volume_id=vol.volume_id))
    assert got.volume == vol
    assert got.status.volume_condition.abnormal is False
    node = admin.volume_info(vol.volume_id)["bricks"][0]["node"]
    admin.node_set_state(node, "offline")
    got = driver.controller.ControllerGetVolume(pb.ControllerGetVolumeRequest(
        volume_id=vol.volume_id))
    assert got.status.volume_condition.abnormal is True
    assert node in got.status.volume_condition.message
    expect_code(C.NOT_FOUND, driver.controller.ControllerGetVolume,
                pb.ControllerGetVolumeRequest(volume_id="b" * 32))


def test_get_capacity_follows_the_durability(driver, admin):
    """3 nodes x 500 GiB: replica 3 holds ~500 GiB, none ~1500, replica 2 ~750."""
    def capacity(**params):
        return driver.controller.GetCapacity(pb.GetCapacityRequest(
            parameters=params, volume_capabilities=[cap()])).available_capacity // GIB

    r3, r2, none = capacity(), capacity(volumetype="replicate:2"), capacity(volumetype="none")
    assert 490 <= r3 <= 500
    assert 740 <= r2 <= 750 and 1480 <= none <= 1500
    assert capacity(volumetype="disperse:4:2") == 0          # needs six nodes
    assert capacity(snapfactor="2") == pytest.approx(r3 / 2, abs=2)
    driver.controller.CreateVolume(create_request("pvc-cap", required=100 * GIB))
    assert capacity() == pytest.approx(r3 - 100, abs=2)
    assert driver.controller.GetCapacity(pb.GetCapacityRequest(
        volume_capabilities=[block_cap()])).available_capacity == 0


def test_capabilities_and_unimplemented_rpcs(shared_driver):
    driver, _ = shared_driver
    got = driver.controller.ControllerGetCapabilities(pb.ControllerGetCapabilitiesRequest())
    types = {c.rpc.type for c in got.capabilities}
    RPC = pb.ControllerServiceCapability.RPC
    assert types == {RPC.CREATE_DELETE_VOLUME, RPC.LIST_VOLUMES, RPC.GET_CAPACITY,
                     RPC.CLONE_VOLUME, RPC.EXPAND_VOLUME, RPC.VOLUME_CONDITION,
                     RPC.GET_VOLUME}
    for call, req in [
        (driver.controller.ControllerPublishVolume, pb.ControllerPublishVolumeRequest()),
        (driver.controller.ControllerUnpublishVolume, pb.ControllerUnpublishVolumeRequest()),
        (driver.controller.CreateSnapshot, pb.CreateSnapshotRequest()),
        (driver.controller.DeleteSnapshot, pb.DeleteSnapshotRequest()),
        (driver.controller.ListSnapshots, pb.ListSnapshotsRequest()),
        (driver.controller.GetSnapshot, pb.GetSnapshotRequest()),
        (driver.controller.ControllerModifyVolume, pb.ControllerModifyVolumeRequest()),
    ]:
        expect_code(C.UNIMPLEMENTED, call, req)


def test_wrong_key_is_unauthenticated(server, admin, driver_factory):
    add_nodes(admin)
    drv = driver_factory(RestConfig(server.url, "admin", "not-the-key"))
    expect_code(C.UNAUTHENTICATED, drv.controller.CreateVolume, create_request("pvc-u"))
    assert admin.volume_list()["volumes"] == []
