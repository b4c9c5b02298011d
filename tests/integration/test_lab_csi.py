"""pyketi-csi on real nodes: the driver (mode all, real mounter) and a pyketi
server (ssh executor) run inside the lab netns; the driver mounts the Gluster
volume with the FUSE client on the host (in the private mount namespace that
``ip netns exec`` gives it), as kubelet would make it do.

CreateVolume -> NodeStage -> NodePublish -> write and read back 50 MiB ->
ControllerExpandVolume -> NodeGetVolumeStats shows the new size ->
NodeUnpublish -> NodeUnstage -> DeleteVolume -> nothing left on the nodes
(bricks, LVs, mounts, gluster volume) nor on the host (mounts, directories,
FUSE client processes).

Needs the glusterfs client on the host (tests/lab/install-host-deps.sh).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from labcheck import leftovers
from labserver import ADMIN_KEY, REPO, lab_server

pytestmark = pytest.mark.lab
grpc = pytest.importorskip("grpc")

from pyketi.csi.mounter import parse_mountinfo  # noqa: E402
from pyketi.csi.proto import csi_pb2 as pb  # noqa: E402
from pyketi.csi.proto import csi_pb2_grpc as pbg  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
RWX = pb.VolumeCapability(mount=pb.VolumeCapability.MountVolume(),
                          access_mode=pb.VolumeCapability.AccessMode(mode=5))


@pytest.fixture(scope="module")
def server(lab, tmp_path_factory):
    if shutil.which("mount.glusterfs") is None and not os.path.exists("/sbin/mount.glusterfs"):
        pytest.skip("glusterfs client not installed on the host "
                    "(tests/lab/install-host-deps.sh)")
    with lab_server(lab, tmp_path_factory.mktemp("pyketi-csi-lab")) as srv:
        c = srv["client"]
        cluster = c.cluster_create()
        node_ids = []
        try:
            for i, n in enumerate(lab.nodes):
                node = c.node_add(cluster=cluster["id"], zone=i + 1, manage=n.ip,
                                  storage=n.ip)
                node_ids.append(node["id"])
                for dev in n.devices:
                    c.device_add(node=node["id"], name=dev)
            yield srv
        finally:
            # leave the lab as it was found, for the next module's server
            for volume_id in c.volume_list()["volumes"]:
                c.volume_delete(volume_id)
            for nid in node_ids:
                for d in c.node_info(nid)["devices"]:
                    c.device_set_state(d["id"], "offline")
                    c.device_set_state(d["id"], "failed")
                    c.device_delete(d["id"])
                c.node_set_state(nid, "offline")
                c.node_set_state(nid, "failed")
                c.node_delete(nid)
            c.cluster_delete(cluster["id"])
    for n in lab.nodes:
        assert leftovers(lab, n.ip) == {}, n.name


@pytest.fixture
def driver(lab, server):
    """``python -m pyketi.csi --mode all`` inside the netns; yields (stubs, pid, dir)."""
    d = Path(tempfile.mkdtemp(prefix="csilab", dir="/tmp"))
    sock = d / "csi.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}
    env.update(PYTHONPATH=str(REPO), PYKETI_CSI_REST_KEY=ADMIN_KEY)
    log = open(d / "driver.log", "wb")
    proc = subprocess.Popen(lab.ns_argv([
        sys.executable, "-m", "pyketi.csi", "--mode", "all", "--endpoint", f"unix://{sock}",
        "--node-id", "lab-host", "--rest-url", server["url"], "--rest-user", "admin"]),
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    channel = grpc.insecure_channel(f"unix://{sock}")
    stubs = (pbg.IdentityStub(channel), pbg.ControllerStub(channel), pbg.NodeStub(channel))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (d / "driver.log").read_text()
            try:
                stubs[0].Probe(pb.ProbeRequest(), timeout=5)
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, (d / "driver.log").read_text()
                time.sleep(0.3)
        yield stubs, proc.pid, d           # ip netns exec execs in place: same PID
    finally:
        channel.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
        text = (d / "driver.log").read_text(errors="replace")
        print(f"driver log: {d / 'driver.log'}")
        assert ADMIN_KEY not in text


def mounts_of(pid: int) -> list:
    return parse_mountinfo(Path(f"/proc/{pid}/mountinfo").read_text())


def in_driver_ns(pid: int, argv: list[str], timeout: float = 600) -> str:
    """Run argv in the driver's mount and network namespaces (where its mounts are)."""
    p = subprocess.run(["nsenter", f"--target={pid}", "--mount", "--net", "--", *argv],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_csi_volume_lifecycle_with_real_mounts(lab, server, driver):
    (identity, ctl, node), pid, d = driver
    client = server["client"]
    t0 = time.monotonic()
    vol = ctl.CreateVolume(pb.CreateVolumeRequest(
        name="pvc-lab-0001", volume_capabilities=[RWX],
        capacity_range=pb.CapacityRange(required_bytes=GIB),
        parameters={"volumetype": "replicate:3", "volumenameprefix": "lab",
                    "csi.storage.k8s.io/pvc/name": "data",
                    "csi.storage.k8s.io/pvc/namespace": "default"})).volume
    t_create = time.monotonic() - t0
    info = client.volume_info(vol.volume_id)
    assert info["name"] == "lab_default_data_pvc-lab-0001"
    # a retry answers the same volume
    again = ctl.CreateVolume(pb.CreateVolumeRequest(
        name="pvc-lab-0001", volume_capabilities=[RWX],
        capacity_range=pb.CapacityRange(required_bytes=GIB),
        parameters={"volumetype": "replicate:3", "volumenameprefix": "lab",
                    "csi.storage.k8s.io/pvc/name": "data",
                    "csi.storage.k8s.io/pvc/namespace": "default"})).volume
    assert again.volume_id == vol.volume_id and len(client.volume_list()["volumes"]) == 1

    staging = d / "plugins" / "globalmount"
    staging.mkdir(parents=True)
    pod_dir = d / "pods" / "uid1" / "volumes" / "pv"
    pod_dir.mkdir(parents=True)
    target = pod_dir / "mount"
    cap = pb.VolumeCapability()
    cap.CopyFrom(RWX)
    cap.mount.mount_flags.append("log-level=WARNING")
    node.NodeStageVolume(pb.NodeStageVolumeRequest(
        volume_id=vol.volume_id, staging_target_path=str(staging), volume_capability=cap,
        volume_context=vol.volume_context))
    node.NodeStageVolume(pb.NodeStageVolumeRequest(
        volume_id=vol.volume_id, staging_target_path=str(staging), volume_capability=cap,
        volume_context=vol.volume_context))
    node.NodePublishVolume(pb.NodePublishVolumeRequest(
        volume_id=vol.volume_id, staging_target_path=str(staging), target_path=str(target),
        volume_capability=cap, volume_context=vol.volume_context))
    by_target = {m.target: m for m in mounts_of(pid)}
    assert by_target[str(staging)].fstype == "fuse.glusterfs"
    assert by_target[str(staging)].source.endswith(":" + info["name"])
    assert str(target) in by_target

    # write 50 MiB through the pod's path, read it back through the staging mount
    in_driver_ns(pid, ["dd", "if=/dev/urandom", f"of={target}/blob", "bs=1M", "count=50",
                       "conv=fsync", "status=none"])
    wrote = in_driver_ns(pid, ["sha256sum", f"{target}/blob"]).split()[0]
    read = in_driver_ns(pid, ["sha256sum", f"{staging}/blob"]).split()[0]
    assert wrote == read
    size = in_driver_ns(pid, ["stat", "-c", "%s", f"{staging}/blob"]).strip()
    assert int(size) == 50 * MIB

    def total_bytes() -> int:
        stats = node.NodeGetVolumeStats(pb.NodeGetVolumeStatsRequest(
            volume_id=vol.volume_id, volume_path=str(target),
            staging_target_path=str(staging)))
        assert not stats.volume_condition.abnormal, stats.volume_condition.message
        return {u.unit: u for u in stats.usage}[pb.VolumeUsage.BYTES].total

    before = total_bytes()
    t0 = time.monotonic()
    grown = ctl.ControllerExpandVolume(pb.ControllerExpandVolumeRequest(
        volume_id=vol.volume_id, capacity_range=pb.CapacityRange(required_bytes=2 * GIB)))
    t_expand = time.monotonic() - t0
    assert grown.capacity_bytes == 2 * GIB and not grown.node_expansion_required
    deadline = time.monotonic() + 120
    after = total_bytes()
    while after < before * 1.5 and time.monotonic() < deadline:
        time.sleep(2)                    # the FUSE client picks up the new volfile
        after = total_bytes()
    assert after >= before * 1.5, (before, after)
    assert in_driver_ns(pid, ["sha256sum", f"{target}/blob"]).split()[0] == wrote

    for _ in range(2):
        node.NodeUnpublishVolume(pb.NodeUnpublishVolumeRequest(
            volume_id=vol.volume_id, target_path=str(target)))
        node.NodeUnstageVolume(pb.NodeUnstageVolumeRequest(
            volume_id=vol.volume_id, staging_target_path=str(staging)))
    t0 = time.monotonic()
    for _ in range(2):
        ctl.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vol.volume_id))
    t_delete = time.monotonic() - t0
    assert client.volume_list()["volumes"] == []

    # nothing left on the host: mounts, the pod's directory, FUSE clients of the volume
    left = [m for m in mounts_of(pid) if m.target.startswith(str(d))]
    assert left == []
    assert not target.exists()
    deadline = time.monotonic() + 30         # a FUSE client exits shortly after umount
    while _fuse_clients(info["name"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _fuse_clients(info["name"]) == []
    # nor on the nodes
    for n in lab.nodes:
        found = leftovers(lab, n.ip, peers=False)
        for key in ("vgs", "pvs", "dirs"):
            found.pop(key, None)          # the devices stay registered
        assert found == {}, f"{n.name}: {found}"
    print(f"CSI replica-3 1 GiB: create {t_create:.1f}s, expand {t_expand:.1f}s, "
          f"delete {t_delete:.1f}s; stats total {before / GIB:.2f} -> {after / GIB:.2f} GiB")


def _fuse_clients(volume: str) -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit() and volume.encode() in _cmdline(p)]


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
