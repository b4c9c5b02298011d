"""Node RPCs with a fake mount table (tests/csi/fakemount.py): the argv
lists the node runs, idempotency, and that nothing stays mounted."""

from __future__ import annotations

import os

import grpc
import pytest
from csihelp import Mode, block_cap, cap, expect_code

from pyketi.csi.backend import RestConfig
from pyketi.csi.proto import csi_pb2 as pb

C = grpc.StatusCode
CTX = {"glusterVolume": "pvc-1", "glusterHosts": "192.0.2.10,192.0.2.11,192.0.2.12"}


@pytest.fixture
def node(driver_factory):
    return driver_factory(RestConfig(), mode="node")


@pytest.fixture
def paths(tmp_path):
    staging = tmp_path / "plugins" / "globalmount"
    staging.mkdir(parents=True)
    pod = tmp_path / "pods" / "uid" / "volumes" / "pv"
    pod.mkdir(parents=True)
    return str(staging), str(pod / "mount")


def stage(staging, context=CTX, capability=None, volume_id="v1"):
    return pb.NodeStageVolumeRequest(volume_id=volume_id, staging_target_path=staging,
                                     volume_capability=capability or cap(),
                                     volume_context=context)


def publish(staging, target, readonly=False, capability=None):
    return pb.NodePublishVolumeRequest(volume_id="v1", staging_target_path=staging,
                                       target_path=target, readonly=readonly,
                                       volume_capability=capability or cap(),
                                       volume_context=CTX)


def test_stage_mounts_glusterfs_with_backup_servers_and_mount_options(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging, capability=cap(
        flags=("log-level=ERROR", "backup-volfile-servers=evil"))))
    assert node.mounter.calls == [[
        "mount", "-t", "glusterfs", "-o",
        "log-level=ERROR,backup-volfile-servers=192.0.2.11:192.0.2.12",
        "--", "192.0.2.10:pvc-1", staging]]
    (entry,) = node.mounter.at(staging)
    assert entry.source == "192.0.2.10:pvc-1" and not entry.read_only


def test_stage_defaults_to_error_logging_and_one_host_has_no_backups(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging, context=dict(CTX, glusterHosts="gl1.example")))
    assert node.mounter.calls == [["mount", "-t", "glusterfs", "-o", "log-level=ERROR",
                                   "--", "gl1.example:pvc-1", staging]]


def test_stage_twice_mounts_once_and_unstage_twice_is_ok(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging))
    node.node.NodeStageVolume(stage(staging))
    assert len(node.mounter.calls) == 1 and len(node.mounter.at(staging)) == 1
    for _ in range(2):
        node.node.NodeUnstageVolume(pb.NodeUnstageVolumeRequest(
            volume_id="v1", staging_target_path=staging))
    assert node.mounter.at(staging) == []
    assert node.mounter.calls[1:] == [["umount", "--", staging]]


def test_stage_of_another_volume_on_the_same_path_is_already_exists(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging))
    other = dict(CTX, glusterVolume="pvc-2")
    expect_code(C.ALREADY_EXISTS, node.node.NodeStageVolume, stage(staging, other))


def test_stale_staging_mount_is_replaced(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging))
    node.mounter.stale.add(staging)
    node.node.NodeStageVolume(stage(staging))
    assert [c[0] for c in node.mounter.calls] == ["mount", "umount", "mount"]
    assert len(node.mounter.at(staging)) == 1


@pytest.mark.parametrize("req, code", [
    (pb.NodeStageVolumeRequest(staging_target_path="/x", volume_capability=cap(),
                               volume_context=CTX), C.INVALID_ARGUMENT),
    (pb.NodeStageVolumeRequest(volume_id="v", volume_capability=cap(), volume_context=CTX),
     C.INVALID_ARGUMENT),
    (pb.NodeStageVolumeRequest(volume_id="v", staging_target_path="/x", volume_context=CTX),
     C.INVALID_ARGUMENT),
    (stage("/x", capability=block_cap()), C.FAILED_PRECONDITION),
    (stage("relative/path"), C.INVALID_ARGUMENT),
    (stage("/x/../etc"), C.INVALID_ARGUMENT),
    (stage("/x", context={}), C.INVALID_ARGUMENT),
    (stage("/x", context=dict(CTX, glusterVolume="-o exec")), C.INVALID_ARGUMENT),
    (stage("/x", context=dict(CTX, glusterHosts="-oexec,h2")), C.INVALID_ARGUMENT),
    (stage("/x", context=dict(CTX, glusterHosts="h1;reboot")), C.INVALID_ARGUMENT),
    (stage("/x", capability=cap(flags=("ro,exec",))), C.INVALID_ARGUMENT),
    (stage("/x", capability=cap(flags=("-oexec",))), C.INVALID_ARGUMENT),
])
def test_bad_stage_requests_run_nothing(node, req, code):
    expect_code(code, node.node.NodeStageVolume, req)
    assert node.mounter.calls == []


def test_publish_bind_mounts_and_unpublish_removes_the_target(node, paths):
    staging, target = paths
    node.node.NodeStageVolume(stage(staging))
    for _ in range(2):
        node.node.NodePublishVolume(publish(staging, target))
    assert node.mounter.calls[1:] == [["mount", "--bind", "--", staging, target]]
    (entry,) = node.mounter.at(target)
    assert entry.source == "192.0.2.10:pvc-1" and not entry.read_only
    for _ in range(2):
        node.node.NodeUnpublishVolume(pb.NodeUnpublishVolumeRequest(volume_id="v1",
                                                                    target_path=target))
    assert node.mounter.at(target) == [] and not os.path.exists(target)
    assert node.mounter.calls[2:] == [["umount", "--", target]]
    assert len(node.mounter.at(staging)) == 1       # the staging mount stays


def test_publish_read_only(node, paths):
    staging, target = paths
    node.node.NodeStageVolume(stage(staging))
    node.node.NodePublishVolume(publish(staging, target, readonly=True))
    assert node.mounter.calls[2] == ["mount", "-o", "remount,bind,ro", "--", target]
    assert node.mounter.at(target)[0].read_only
    # same target, now read-write: incompatible
    expect_code(C.ALREADY_EXISTS, node.node.NodePublishVolume, publish(staging, target))
    # a read-only access mode is published read-only too
    other = target + "2"
    node.node.NodePublishVolume(publish(staging, other,
                                        capability=cap(Mode.MULTI_NODE_READER_ONLY)))
    assert node.mounter.at(other)[0].read_only


def test_single_node_modes_allow_one_target(node, paths):
    staging, target = paths
    node.node.NodeStageVolume(stage(staging))
    single = cap(Mode.SINGLE_NODE_WRITER)
    node.node.NodePublishVolume(publish(staging, target, capability=single))
    node.node.NodePublishVolume(publish(staging, target, capability=single))
    expect_code(C.FAILED_PRECONDITION, node.node.NodePublishVolume,
                publish(staging, target + "2", capability=single))
    # multi-node modes may publish at several targets
    node.node.NodePublishVolume(publish(staging, target + "3"))
    assert len(node.mounter.at(target + "3")) == 1 and node.mounter.at(target + "2") == []


def test_publish_without_staging_is_failed_precondition(node, paths):
    staging, target = paths
    expect_code(C.FAILED_PRECONDITION, node.node.NodePublishVolume, publish(staging, target))
    req = publish(staging, target)
    req.staging_target_path = ""
    expect_code(C.FAILED_PRECONDITION, node.node.NodePublishVolume, req)
    assert node.mounter.calls == [] and not os.path.exists(target)


def test_failed_read_only_remount_leaves_nothing(node, paths):
    staging, target = paths
    node.node.NodeStageVolume(stage(staging))
    node.mounter.fail_next = "mount"
    expect_code(C.INTERNAL, node.node.NodePublishVolume, publish(staging, target))
    assert node.mounter.at(target) == [] and not os.path.exists(target)
    node.node.NodePublishVolume(publish(staging, target, readonly=True))
    real_run = node.mounter.run
    calls = []

    def fail_remount(argv):
        calls.append(argv)
        if "remount,bind,ro" in argv:
            from pyketi.csi.mounter import MountError
            raise MountError("mount exited with 32: injected")
        real_run(argv)
    node.node.NodeUnpublishVolume(pb.NodeUnpublishVolumeRequest(volume_id="v1",
                                                                target_path=target))
    node.mounter.run = fail_remount
    expect_code(C.INTERNAL, node.node.NodePublishVolume, publish(staging, target, True))
    assert node.mounter.at(target) == [] and not os.path.exists(target)


def test_unstage_unmounts_stacked_and_stale_mounts(node, paths):
    staging, _ = paths
    node.node.NodeStageVolume(stage(staging))
    node.mounter.run(["mount", "-t", "glusterfs", "--", "h:pvc-1", staging])
    node.mounter.stale.add(staging)
    node.node.NodeUnstageVolume(pb.NodeUnstageVolumeRequest(volume_id="v1",
                                                            staging_target_path=staging))
    assert node.mounter.at(staging) == []


def test_unpublish_refuses_to_delete_a_non_empty_directory(node, paths):
    _, target = paths
    os.makedirs(target)
    open(os.path.join(target, "data"), "w").close()
    err = expect_code(C.INTERNAL, node.node.NodeUnpublishVolume,
                      pb.NodeUnpublishVolumeRequest(volume_id="v1", target_path=target))
    assert "cannot remove" in err.details()
    assert os.path.exists(os.path.join(target, "data"))


def test_volume_stats(node, paths):
    staging, target = paths
    node.node.NodeStageVolume(stage(staging))
    node.node.NodePublishVolume(publish(staging, target))
    stats = node.node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
        volume_id="v1", volume_path=target, staging_target_path=staging))
    st = os.statvfs(target)
    by_unit = {u.unit: u for u in stats.usage}
    b = by_unit[pb.VolumeUsage.BYTES]
    assert b.total == st.f_blocks * st.f_frsize > 0 and 0 <= b.available <= b.total
    assert b.used == (st.f_blocks - st.f_bfree) * st.f_frsize
    assert by_unit[pb.VolumeUsage.INODES].total == st.f_files
    assert stats.volume_condition.abnormal is False
    node.mounter.stale.add(target)
    stale = node.node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
        volume_id="v1", volume_path=target))
    assert stale.volume_condition.abnormal is True
    assert "not connected" in stale.volume_condition.message
    expect_code(C.NOT_FOUND, node.node.NodeGetVolumeStats, pb.NodeGetVolumeStatsRequest(
        volume_id="v1", volume_path=staging + "-gone"))
    # the mount is gone (e.g. the node plugin restarted): abnormal, not an error
    os.makedirs(staging + "-empty")
    gone = node.node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
        volume_id="v1", volume_path=staging + "-empty"))
    assert gone.volume_condition.abnormal and "nothing is mounted" in \
        gone.volume_condition.message
    node.mounter.stale.discard(target)
    node.mounter.stale.add(staging)          # the FUSE client behind the bind mount died
    behind = node.node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
        volume_id="v1", volume_path=target, staging_target_path=staging))
    assert behind.volume_condition.abnormal and staging in behind.volume_condition.message
    expect_code(C.INVALID_ARGUMENT, node.node.NodeGetVolumeStats,
                pb.NodeGetVolumeStatsRequest(volume_path=target))


def test_node_info_capabilities_and_mode(node, driver_factory):
    assert node.node.NodeGetInfo(pb.NodeGetInfoRequest()).node_id == "node-a"
    caps = node.node.NodeGetCapabilities(pb.NodeGetCapabilitiesRequest())
    RPC = pb.NodeServiceCapability.RPC
    assert {c.rpc.type for c in caps.capabilities} == {
        RPC.STAGE_UNSTAGE_VOLUME, RPC.GET_VOLUME_STATS, RPC.VOLUME_CONDITION}
    expect_code(C.UNIMPLEMENTED, node.node.NodeExpandVolume, pb.NodeExpandVolumeRequest())
    # a node-mode driver serves no Controller, a controller-mode one no Node
    expect_code(C.UNIMPLEMENTED, node.controller.ControllerGetCapabilities,
                pb.ControllerGetCapabilitiesRequest())
    ctl = driver_factory(RestConfig(), mode="controller")
    expect_code(C.UNIMPLEMENTED, ctl.node.NodeGetInfo, pb.NodeGetInfoRequest())


def test_identity_in_every_mode(node, driver_factory):
    for drv in (node, driver_factory(RestConfig(), mode="controller")):
        info = drv.identity.GetPluginInfo(pb.GetPluginInfoRequest())
        assert info.name == "pyketi.gluster.org" and info.vendor_version
        caps = drv.identity.GetPluginCapabilities(pb.GetPluginCapabilitiesRequest())
        assert {c.WhichOneof("type") for c in caps.capabilities} == {"service",
                                                                     "volume_expansion"}
        assert drv.identity.Probe(pb.ProbeRequest()).ready.value is True


def test_probe_fails_when_the_server_is_down(driver_factory):
    drv = driver_factory(RestConfig("http://127.0.0.1:9", "admin", "k", timeout=2),
                         mode="controller")
    err = expect_code(C.FAILED_PRECONDITION, drv.identity.Probe, pb.ProbeRequest())
    assert "does not answer" in err.details()
