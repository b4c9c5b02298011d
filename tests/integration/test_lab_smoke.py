"""Smoke tests on the VM lab: SshTransport and CmdExecutor against real nodes.

The CmdExecutor lifecycle is heketi's full brick recipe with real LVM thin
pools: device setup, brick create, replica-3 volume create, FUSE mount +
write + one copy per brick, volume destroy, brick destroy, device teardown,
and afterwards nothing is left on any node.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shlex
import time
from pathlib import Path

import pytest

from labcheck import leftovers
from pyketi.executors.base import BrickRequest, VolumeRequest
from pyketi.executors.transports.ssh import SshTransport
from pyketi.executors.transports.base import Command

pytestmark = pytest.mark.lab

GIB_KIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


def _hex() -> str:
    return secrets.token_hex(16)


def test_transport_batch_on_all_nodes(lab, in_lab):
    nodes = lab.nodes
    assert len(nodes) == 3

    async def run():
        t = SshTransport.from_config(lab.sshexec_config())
        try:
            batch = [Command.of("/usr/sbin/lvm", "version"), Command.of("gluster", "--version"),
                     Command.of("cat", "/sys/module/dm_thin_pool/initstate", check=False),
                     Command.of("hostname")]
            res = await asyncio.gather(*[t.run_batch(n.ip, batch, 120) for n in nodes])
            return res, t.connections_opened, t.remote_calls
        finally:
            await t.close()

    results, conns, calls = in_lab(run())
    assert (conns, calls) == (3, 3)
    for node, res in zip(nodes, results):
        assert [r.exit_status for r in res][:2] == [0, 0]
        assert "LVM version" in res[0].stdout
        assert res[1].stdout.startswith("glusterfs ")
        assert res[3].stdout.strip() == node.name


def test_transport_sudo_user(lab, in_lab):
    """sshexec user "heketi" + sudo: true (the heketi production setup)."""
    async def run():
        t = SshTransport.from_config(lab.sshexec_config(user="heketi", sudo=True))
        try:
            return await t.run_batch(lab.nodes[0].ip, [Command.of("id", "-u"),
                                                        Command.of("/usr/sbin/lvm", "pvs")], 120)
        finally:
            await t.close()

    res = in_lab(run())
    assert res[0].stdout.strip() == "0"
    assert res[1].ok


def _executor(lab):
    from pyketi.executors.cmd.executor import CmdExecutor
    from pyketi.executors.config import ExecConfig
    transport = SshTransport.from_config(lab.sshexec_config())
    return CmdExecutor(transport, ExecConfig()), transport


class PhaseTimer:
    """``phase(name)`` records the time, SSH connections and remote calls since the last call."""

    def __init__(self, transport: SshTransport, phases: dict, counters: dict):
        self.t, self.phases, self.counters = transport, phases, counters
        self.last = (time.monotonic(), 0, 0)

    def __call__(self, name: str) -> None:
        now, t = time.monotonic(), self.t
        self.phases[name] = round(now - self.last[0], 2)
        self.counters[name] = (t.connections_opened - self.last[1], t.remote_calls - self.last[2])
        self.last = (now, t.connections_opened, t.remote_calls)


def test_cmd_executor_replica3_lifecycle(lab, in_lab, record_property):
    pytest.importorskip("pyketi.executors.cmd.executor")
    nodes = lab.nodes
    ips = [n.ip for n in nodes]
    devs = {ip: _hex() for ip in ips}
    bricks = {ip: BrickRequest(id=_hex(), device_id=devs[ip], node_storage=ip,
                               size_kib=GIB_KIB, tp_size_kib=GIB_KIB,
                               pool_metadata_kib=16 * 1024) for ip in ips}
    vol_id = _hex()
    vol = VolumeRequest(name=f"vol_{vol_id}", id=vol_id, durability="replicate", replica=3,
                        bricks=[(ip, bricks[ip].brick_path) for ip in ips])
    phases: dict[str, float] = {}
    counters: dict[str, tuple[int, int]] = {}

    async def run():
        ex, t = _executor(lab)
        phase = PhaseTimer(t, phases, counters)
        try:
            await asyncio.gather(*[ex.glusterd_check(ip) for ip in ips])
            for ip in ips[1:]:
                await ex.peer_probe(ips[0], ip)
            phase("glusterd check + peer probe")
            infos = await asyncio.gather(*[ex.device_setup(ip, "/dev/vdb", devs[ip]) for ip in ips])
            phase("device setup x3")
            await asyncio.gather(*[ex.bricks_create(ip, [bricks[ip]]) for ip in ips])
            phase("bricks create x3")
            await ex.volume_create(ips[0], vol)
            phase("volume create replica 3")
            info = await ex.volume_info(ips[0], vol.name)
            phase("volume info")
            return infos, info
        finally:
            await t.close()

    infos, info = in_lab(run())
    for di in infos:
        assert di.total > 9 * GIB_KIB and di.extent_size == 4096
    assert info.replica_count == 3 and info.brick_count == 3
    assert sorted(b.name for b in info.bricks) == sorted(f"{ip}:{bricks[ip].brick_path}"
                                                          for ip in ips)
    assert info.options.get("user.heketi.id") == vol_id

    # real thin LVs, XFS mounts, fstab lines on every node
    for ip in ips:
        b = bricks[ip]
        out = lab.ssh(ip, f"lvs --noheadings -o lv_name,pool_lv,lv_attr vg_{b.device_id}; "
                          f"findmnt -n -o FSTYPE {b.mount_point}; grep -c brick_{b.id} /etc/fstab").stdout
        assert f"brick_{b.id}" in out and f"tp_{b.id}" in out and "xfs" in out

    # a client mounts and writes; each of the 3 bricks has a copy
    t0 = time.monotonic()
    lab.ssh(1, f"mkdir -p /mnt/pyketi && mount -t glusterfs {ips[0]}:/{vol.name} /mnt/pyketi && "
               "head -c 4194304 /dev/urandom > /mnt/pyketi/data.bin && sync && "
               "md5sum /mnt/pyketi/data.bin > /tmp/data.md5 && umount /mnt/pyketi")
    want = lab.ssh(1, "cut -d' ' -f1 /tmp/data.md5").stdout.strip()
    for ip in ips:
        got = lab.ssh(ip, f"md5sum {bricks[ip].brick_path}/data.bin").stdout.split()[0]
        assert got == want
    phases["FUSE mount + write 4 MiB + check 3 copies"] = round(time.monotonic() - t0, 2)

    # a second thin LV in node1's brick pool (as a clone's): the pool must survive
    b0 = bricks[ips[0]]
    lab.ssh(1, f"lvcreate -qq -V 64M -T vg_{b0.device_id}/tp_{b0.id} -n keep_{b0.id}")

    async def teardown():
        ex, t = _executor(lab)
        phase = PhaseTimer(t, phases, counters)
        try:
            await ex.volume_destroy(ips[0], vol.name)
            phase("volume destroy")
            reclaimed = await asyncio.gather(*[ex.bricks_destroy(ip, [bricks[ip]]) for ip in ips])
            phase("bricks destroy x3")
            lvs, _ = await t.run_batch(ips[0], [
                Command.of("lvs", "--noheadings", "-o", "lv_name", f"vg_{b0.device_id}"),
                Command.of("lvremove", "-qq", "-f", f"vg_{b0.device_id}/keep_{b0.id}")], 120)
            kept = lvs.stdout.split()
            reclaimed_later = await ex.bricks_destroy(ips[0], [b0])
            phase("shared pool kept, then destroyed")
            await asyncio.gather(*[ex.device_teardown(ip, "/dev/vdb", devs[ip]) for ip in ips])
            phase("device teardown x3")
            for ip in ips[1:]:
                await ex.peer_detach(ips[0], ip)
            phase("peer detach")
            # idempotent: destroying again succeeds
            await ex.volume_destroy(ips[0], vol.name)
            await ex.bricks_destroy(ips[0], [bricks[ips[0]]])
            return reclaimed, kept, reclaimed_later
        finally:
            await t.close()

    reclaimed, kept, reclaimed_later = in_lab(teardown())
    assert reclaimed == [[False], [True], [True]]   # node1's pool still held keep_<id>
    assert sorted(kept) == [f"keep_{b0.id}", f"tp_{b0.id}"]
    assert reclaimed_later == [True]
    lab.ssh(1, "rmdir /mnt/pyketi; rm -f /tmp/data.md5", check=False)
    for ip in ips:
        assert leftovers(lab, ip) == {}, ip

    report = {"phases_s": phases, "connections_remote_calls": counters}
    record_property("lab_lifecycle", json.dumps(report))
    out = os.environ.get("PYKETI_LAB_REPORT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": "cmd_executor_replica3_lifecycle", **report}) + "\n")
    print(json.dumps(report, indent=2))


def test_cmd_executor_as_sudo_user(lab, in_lab):
    """heketi's production setup: sshexec user "heketi" with "sudo": true."""
    from pyketi.executors.cmd.executor import CmdExecutor
    from pyketi.executors.config import ExecConfig
    sshexec = lab.sshexec_config(user="heketi", sudo=True)
    ip, dev = lab.nodes[0].ip, _hex()

    async def run():
        t = SshTransport.from_config(sshexec)
        ex = CmdExecutor(t, ExecConfig.from_heketi(sshexec))
        try:
            await ex.glusterd_check(ip)
            info = await ex.device_setup(ip, "/dev/vdc", dev)
            seen = lab.ssh(ip, f"vgs --noheadings -o vg_name vg_{dev}", check=False).stdout
            await ex.device_teardown(ip, "/dev/vdc", dev)
            return info, seen
        finally:
            await t.close()

    info, seen = in_lab(run())
    assert info.total > 9 * GIB_KIB
    assert f"vg_{dev}" in seen
    assert leftovers(lab, ip, peers=False) == {}


def test_provision_node_rerun_on_a_node(lab):
    """provision-node.sh as Vagrant runs it, again on a provisioned node: installs
    nothing (the lab has no route out), keeps one copy of the key, services up."""
    script = (REPO / "tests" / "lab" / "provision-node.sh").read_text()
    pub = Path(lab.key + ".pub").read_text().strip()
    cmd = (f"cat > /root/provision-node.sh && PYKETI_AUTHORIZED_KEYS={shlex.quote(pub)} "
           "bash /root/provision-node.sh && rm /root/provision-node.sh")
    out = lab.ssh(3, cmd, input=script, timeout=600).stdout
    assert "provision-node: node3 ready: glusterfs 10" in out, out
    counts = lab.ssh(3, f"grep -cxF {shlex.quote(pub)} /root/.ssh/authorized_keys "
                        "/home/heketi/.ssh/authorized_keys").stdout.split()
    assert [c.rsplit(":", 1)[1] for c in counts] == ["1", "1"]
    assert lab.ssh(3, "systemctl is-active glusterd ssh").stdout.split() == ["active", "active"]
