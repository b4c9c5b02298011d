"""A conformance run of our own over the unix socket: the CSI sanity cases
(create twice, delete twice, publish/unpublish twice, stage/unstage twice,
missing and invalid arguments) against ``pyketi-csi`` started as a real
process (``python -m pyketi.csi --mode controller``, configured by flags, a
key file and the environment) serving a real pyketi server, plus a node
driver with a fake mount table on its own socket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import pytest
from csihelp import ADMIN_SECRET, GIB, add_nodes, cap, create_request, expect_code
from server_process import python_env

from pyketi.csi.backend import RestConfig
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg

C = grpc.StatusCode
START_TIMEOUT = 20.0


class DriverProcess:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.dir = tempfile.mkdtemp(prefix="csip", dir="/tmp")
        self.socket = os.path.join(self.dir, "csi.sock")
        self.log = Path(self.dir) / "driver.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pyketi.csi", "--endpoint", f"unix://{self.socket}",
                 *args], stdout=log, stderr=subprocess.STDOUT, env=python_env(env))
        self.channel = grpc.insecure_channel(f"unix://{self.socket}")
        self.identity = pbg.IdentityStub(self.channel)
        self.controller = pbg.ControllerStub(self.channel)
        self.node = pbg.NodeStub(self.channel)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                self.identity.Probe(pb.ProbeRequest(), timeout=2)
                return
            except grpc.RpcError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)

    def stop(self) -> int:
        self.channel.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture
def sanity(server, admin, tmp_path, driver_factory):
    """(controller process, in-process node driver)."""
    add_nodes(admin)
    key_file = tmp_path / "key"
    key_file.write_text(ADMIN_SECRET + "\n")
    proc = DriverProcess(["--mode", "controller", "--rest-key-file", str(key_file)],
                         {"PYKETI_CSI_REST_URL": server.url, "PYKETI_CSI_REST_USER": "admin"})
    node = driver_factory(RestConfig(), mode="node")
    yield proc, node
    assert proc.stop() == 0
    assert not os.path.exists(proc.socket), "socket left behind"
    log = proc.log.read_text()
    assert ADMIN_SECRET not in log
    proc.log.unlink()
    os.rmdir(proc.dir)


def test_identity_sanity(sanity):
    proc, _ = sanity
    assert os.stat(proc.socket).st_mode & 0o777 == 0o660
    info = proc.identity.GetPluginInfo(pb.GetPluginInfoRequest())
    assert info.name == "pyketi.gluster.org" and info.vendor_version
    assert info.manifest["mode"] == "controller"
    assert proc.identity.Probe(pb.ProbeRequest()).ready.value
    caps = proc.identity.GetPluginCapabilities(pb.GetPluginCapabilitiesRequest())
    Service = pb.PluginCapability.Service
    assert Service(type=Service.CONTROLLER_SERVICE) in [c.service for c in caps.capabilities]


def test_controller_sanity(sanity, admin):
    proc, _ = sanity
    ctl = proc.controller
    assert ctl.ListVolumes(pb.ListVolumesRequest()).entries == []
    # CreateVolume: missing arguments
    expect_code(C.INVALID_ARGUMENT, ctl.CreateVolume,
                pb.CreateVolumeRequest(volume_capabilities=[cap()]))
    expect_code(C.INVALID_ARGUMENT, ctl.CreateVolume, pb.CreateVolumeRequest(name="sanity"))
    # create twice: one volume
    req = create_request("sanity-twice", required=2 * GIB)
    a = ctl.CreateVolume(req).volume
    b = ctl.CreateVolume(req).volume
    assert a.volume_id == b.volume_id and a.capacity_bytes >= 2 * GIB
    # same name, incompatible size
    expect_code(C.ALREADY_EXISTS, ctl.CreateVolume,
                create_request("sanity-twice", required=5 * GIB, limit=5 * GIB))
    assert admin.volume_list()["volumes"] == [a.volume_id]
    # ValidateVolumeCapabilities
    expect_code(C.INVALID_ARGUMENT, ctl.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_capabilities=[cap()]))
    expect_code(C.INVALID_ARGUMENT, ctl.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_id=a.volume_id))
    expect_code(C.NOT_FOUND, ctl.ValidateVolumeCapabilities,
                pb.ValidateVolumeCapabilitiesRequest(volume_id="some-vol-id",
                                                     volume_capabilities=[cap()]))
    assert ctl.ValidateVolumeCapabilities(pb.ValidateVolumeCapabilitiesRequest(
        volume_id=a.volume_id, volume_capabilities=[cap()])).HasField("confirmed")
    # expand: missing arguments, then a real one
    expect_code(C.INVALID_ARGUMENT, ctl.ControllerExpandVolume,
                pb.ControllerExpandVolumeRequest(
                    capacity_range=pb.CapacityRange(required_bytes=GIB)))
    expect_code(C.INVALID_ARGUMENT, ctl.ControllerExpandVolume,
                pb.ControllerExpandVolumeRequest(volume_id=a.volume_id))
    grown = ctl.ControllerExpandVolume(pb.ControllerExpandVolumeRequest(
        volume_id=a.volume_id, capacity_range=pb.CapacityRange(required_bytes=4 * GIB)))
    assert grown.capacity_bytes == 4 * GIB
    # ListVolumes: paging and a bad token
    ctl.CreateVolume(create_request("sanity-second"))
    first = ctl.ListVolumes(pb.ListVolumesRequest(max_entries=1))
    assert len(first.entries) == 1 and first.next_token
    second = ctl.ListVolumes(pb.ListVolumesRequest(max_entries=1,
                                                   starting_token=first.next_token))
    assert len(second.entries) == 1 and not second.next_token
    expect_code(C.ABORTED, ctl.ListVolumes, pb.ListVolumesRequest(starting_token="zz"))
    assert ctl.GetCapacity(pb.GetCapacityRequest()).available_capacity > 0
    # not offered
    expect_code(C.UNIMPLEMENTED, ctl.ControllerPublishVolume,
                pb.ControllerPublishVolumeRequest(volume_id=a.volume_id, node_id="n",
                                                  volume_capability=cap()))
    # the node service is not served by a controller-mode driver
    expect_code(C.UNIMPLEMENTED, proc.node.NodeGetInfo, pb.NodeGetInfoRequest())
    # DeleteVolume: missing id, twice, unknown
    expect_code(C.INVALID_ARGUMENT, ctl.DeleteVolume, pb.DeleteVolumeRequest())
    for entry in [*first.entries, *second.entries]:
        for _ in range(2):
            ctl.DeleteVolume(pb.DeleteVolumeRequest(volume_id=entry.volume.volume_id))
    ctl.DeleteVolume(pb.DeleteVolumeRequest(volume_id="reallyfakevolumeid"))
    assert admin.volume_list()["volumes"] == []


def test_node_sanity_missing_arguments(sanity):
    _, node = sanity
    n = node.node
    for call, req in [
        (n.NodePublishVolume, pb.NodePublishVolumeRequest(
            target_path="/t", staging_target_path="/s", volume_capability=cap())),
        (n.NodePublishVolume, pb.NodePublishVolumeRequest(
            volume_id="v", staging_target_path="/s", volume_capability=cap())),
        (n.NodePublishVolume, pb.NodePublishVolumeRequest(
            volume_id="v", target_path="/t", staging_target_path="/s")),
        (n.NodeUnpublishVolume, pb.NodeUnpublishVolumeRequest(target_path="/t")),
        (n.NodeUnpublishVolume, pb.NodeUnpublishVolumeRequest(volume_id="v")),
        (n.NodeStageVolume, pb.NodeStageVolumeRequest(
            staging_target_path="/s", volume_capability=cap())),
        (n.NodeStageVolume, pb.NodeStageVolumeRequest(volume_id="v", volume_capability=cap())),
        (n.NodeStageVolume, pb.NodeStageVolumeRequest(volume_id="v", staging_target_path="/s")),
        (n.NodeUnstageVolume, pb.NodeUnstageVolumeRequest(staging_target_path="/s")),
        (n.NodeUnstageVolume, pb.NodeUnstageVolumeRequest(volume_id="v")),
        (n.NodeGetVolumeStats, pb.NodeGetVolumeStatsRequest(volume_path="/s")),
        (n.NodeGetVolumeStats, pb.NodeGetVolumeStatsRequest(volume_id="v")),
    ]:
        expect_code(C.INVALID_ARGUMENT, call, req)
    assert node.mounter.calls == []


def test_full_cycle_twice_at_every_step(sanity, admin, tmp_path):
    """Create -> stage x2 -> publish x2 -> stats -> unpublish x2 -> unstage x2 ->
    delete x2, with the controller process and the node driver."""
    proc, node = sanity
    vol = proc.controller.CreateVolume(create_request("sanity-cycle")).volume
    staging = tmp_path / "globalmount"
    staging.mkdir()
    target = tmp_path / "pod" / "mount"
    target.parent.mkdir()
    stage = pb.NodeStageVolumeRequest(volume_id=vol.volume_id, staging_target_path=str(staging),
                                      volume_capability=cap(),
                                      volume_context=vol.volume_context)
    publish = pb.NodePublishVolumeRequest(
        volume_id=vol.volume_id, staging_target_path=str(staging), target_path=str(target),
        volume_capability=cap(), volume_context=vol.volume_context)
    for _ in range(2):
        node.node.NodeStageVolume(stage)
    for _ in range(2):
        node.node.NodePublishVolume(publish)
    info = admin.volume_info(vol.volume_id)
    (mounted,) = node.mounter.at(str(target))
    assert mounted.source == info["mount"]["glusterfs"]["device"]
    stats = node.node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
        volume_id=vol.volume_id, volume_path=str(target), staging_target_path=str(staging)))
    assert stats.usage and not stats.volume_condition.abnormal
    for _ in range(2):
        node.node.NodeUnpublishVolume(pb.NodeUnpublishVolumeRequest(
            volume_id=vol.volume_id, target_path=str(target)))
    for _ in range(2):
        node.node.NodeUnstageVolume(pb.NodeUnstageVolumeRequest(
            volume_id=vol.volume_id, staging_target_path=str(staging)))
    assert node.mounter.mounts() == [] and not target.exists()
    assert sum(c[0] == "mount" for c in node.mounter.calls) == 2     # stage + bind, once each
    for _ in range(2):
        proc.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vol.volume_id))
    assert admin.volume_list()["volumes"] == []
    log = proc.log.read_text()
    assert f"volume={vol.volume_id}" in log and "pyketi job /queue/" in log
    assert "req=" in log


def test_misconfiguration_exits_early(tmp_path):
    for args in (["--endpoint", "tcp://127.0.0.1:1"],
                 ["--endpoint", f"unix://{tmp_path}/c.sock", "--rest-url", "ftp://x"],
                 ["--endpoint", f"unix://{tmp_path}/c.sock", "--rest-key-file",
                  str(tmp_path / "missing")]):
        done = subprocess.run([sys.executable, "-m", "pyketi.csi", *args],
                              capture_output=True, env=python_env(), timeout=30)
        assert done.returncode == 2, done.stderr
        assert b"pyketi-csi:" in done.stderr
