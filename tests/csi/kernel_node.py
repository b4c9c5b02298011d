"""Run inside a private mount namespace by test_node_kernel.py: the node
service with the real ``SystemMounter`` against the kernel.  glusterfs is not
available here, so the staging mount is a tmpfs made by this script (what
NodeStageVolume would have mounted); publish, read-only, stats, unpublish
and unstage then run the driver's own argv lists.  Prints a JSON report."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import grpc

from pyketi.csi.mounter import SystemMounter
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg
from pyketi.csi.server import DriverConfig, build

CAP = pb.VolumeCapability(mount=pb.VolumeCapability.MountVolume(),
                          access_mode=pb.VolumeCapability.AccessMode(mode=5))


def targets_mounted(mounter: SystemMounter, base: str) -> list[str]:
    return sorted(m.target for m in mounter.mounts() if m.target.startswith(base))


def main(base: str) -> None:
    staging, pod = os.path.join(base, "staging"), os.path.join(base, "pod")
    os.makedirs(staging)
    os.makedirs(pod)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "--", "tmpfs", staging],
                   check=True)
    mounter = SystemMounter()
    server, path = build(DriverConfig(endpoint=f"unix://{base}/csi.sock", mode="node",
                                      node_id="k"), mounter=mounter)
    report: dict = {}
    try:
        node = pbg.NodeStub(grpc.insecure_channel(f"unix://{path}"))
        rw, ro = os.path.join(pod, "rw"), os.path.join(pod, "ro")
        for target, readonly in ((rw, False), (rw, False), (ro, True), (ro, True)):
            node.NodePublishVolume(pb.NodePublishVolumeRequest(
                volume_id="v", staging_target_path=staging, target_path=target,
                volume_capability=CAP, readonly=readonly))
        report["published"] = targets_mounted(mounter, base)
        with open(os.path.join(rw, "f"), "w") as f:
            f.write("hello")
        with open(os.path.join(staging, "f")) as f:
            report["through_staging"] = f.read()
        try:
            open(os.path.join(ro, "g"), "w").close()
            report["ro_write"] = "allowed"
        except OSError as err:
            report["ro_write"] = errno.errorcode[err.errno]
        report["ro_flag"] = {m.target: m.read_only for m in mounter.mounts()
                             if m.target in (rw, ro)}
        stats = node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(volume_id="v",
                                                                     volume_path=rw))
        report["stats_total"] = {pb.VolumeUsage.Unit.Name(u.unit): u.total
                                 for u in stats.usage}
        try:
            node.NodePublishVolume(pb.NodePublishVolumeRequest(
                volume_id="v", staging_target_path=staging, target_path=ro,
                volume_capability=CAP, readonly=False))
            report["ro_then_rw"] = "OK"
        except grpc.RpcError as err:
            report["ro_then_rw"] = err.code().name
        for target in (rw, rw, ro, ro):
            node.NodeUnpublishVolume(pb.NodeUnpublishVolumeRequest(volume_id="v",
                                                                   target_path=target))
        report["after_unpublish"] = targets_mounted(mounter, base)
        report["targets_left"] = sorted(os.listdir(pod))
        for _ in range(2):
            node.NodeUnstageVolume(pb.NodeUnstageVolumeRequest(volume_id="v",
                                                               staging_target_path=staging))
        report["after_unstage"] = targets_mounted(mounter, base)
    finally:
        server.stop(None).wait()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
