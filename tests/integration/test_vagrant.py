"""`vagrant up` for real: vagrant/Vagrantfile on libvirt, then pyketi from the host.

Opt-in (not part of ``PYKETI_LAB=1``: ~10-15 min under TCG)::

    bash vagrant/install-host-deps.sh            # apt: vagrant vagrant-libvirt libvirt qemu ...
    PYKETI_VAGRANT=1 .venv/bin/pytest tests/integration/test_vagrant.py -s

``vagrant/lab-up.sh`` builds the box from the VM lab's image (no download), starts
a libvirtd of its own inside the network namespace ``pyketivagrant`` (10.90.0.0/24,
no route out; QEMU software emulation when the CPU has no vmx/svm) and runs
``vagrant up``: 3 nodes provisioned by tests/lab/provision-node.sh.  From the host,
inside that namespace: a pyketi server (sshexec as the ``heketi`` user with sudo,
host keys verified), ``pyketi-cli topology load``, a replica-3 volume, a FUSE mount
with the host's glusterfs client, a write read back on every brick, delete, nothing
left on the nodes.  ``vagrant/lab-down.sh`` runs whatever happened.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from vmlab import VmLab  # noqa: E402

from labserver import ADMIN_KEY, REPO, lab_server  # noqa: E402
from test_lab_api import _assert_clean, _brick_md5, _bricks_online, _device_vgs  # noqa: E402

VAGRANT = REPO / "vagrant"
ENV = {
    "PYKETI_VAGRANT_DIR": os.environ.get("PYKETI_VAGRANT_DIR", "/var/lib/pyketi-vagrant"),
    "PYKETI_VAGRANT_NETNS": os.environ.get("PYKETI_VAGRANT_NETNS", "pyketivagrant"),
    "PYKETI_VAGRANT_NODES": "3",
}


def _script(name: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(VAGRANT / name)], env={**os.environ, **ENV},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def vlab():
    if os.geteuid() != 0:
        pytest.skip("the Vagrant lab needs root (netns, libvirtd)")
    deps = subprocess.run(["bash", str(VAGRANT / "install-host-deps.sh")], capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert deps.returncode == 0, deps.stdout + deps.stderr
    t0 = time.monotonic()
    try:
        up = _script("lab-up.sh", timeout=3600)
        print(up.stderr)
        assert up.returncode == 0, f"lab-up.sh failed:\n{up.stderr[-6000:]}"
        print(f"vagrant lab up: {time.monotonic() - t0:.0f}s")
        yield VmLab(lab_dir=ENV["PYKETI_VAGRANT_DIR"],
                    env={"PYKETI_LAB_NETNS": ENV["PYKETI_VAGRANT_NETNS"]})
    finally:
        t1 = time.monotonic()
        down = _script("lab-down.sh", timeout=1200)
        print(down.stderr)
        print(f"vagrant lab down: {time.monotonic() - t1:.0f}s")
        assert down.returncode == 0, down.stderr
        assert not Path(f"/run/netns/{ENV['PYKETI_VAGRANT_NETNS']}").exists()


@pytest.fixture(scope="module")
def server(vlab, tmp_path_factory):
    # as vagrant/README.md: sshexec as "heketi" with sudo, the key lab-up gave the
    # Vagrantfile, host keys read over vagrant's own ssh
    with lab_server(vlab, tmp_path_factory.mktemp("pyketi-vagrant-server"),
                    sshexec=vlab.sshexec_config(user="heketi", sudo=True)) as srv:
        yield srv


def _cli(lab, server, *args: str) -> subprocess.CompletedProcess:
    return lab.ns_run([sys.executable, "-m", "pyketi.cli.main", "--server", server["url"],
                       "--user", "admin", "--secret", ADMIN_KEY, *args],
                      timeout=1800, check=False, cwd=REPO)


def test_nodes_provisioned_by_vagrant(vlab):
    st = subprocess.run(["bash", str(VAGRANT / "lab-vagrant.sh"), "status", "--machine-readable"],
                        env={**os.environ, **ENV}, capture_output=True, text=True, timeout=600,
                        stdin=subprocess.DEVNULL)
    assert st.returncode == 0, st.stderr
    states = {ln.split(",")[1]: ln.split(",")[3] for ln in st.stdout.splitlines()
              if ln.split(",")[2:3] == ["state"]}
    assert states == {"node1": "running", "node2": "running", "node3": "running"}, st.stdout
    for i, n in enumerate(vlab.nodes, 1):
        assert n.ip == f"10.90.0.{10 + i}"
        # as "heketi" with pyketi's key: provision-node.sh authorized it (the box has
        # no key for heketi) and gave the user password-less sudo
        out = vlab.ssh(i, "hostname; sudo -n gluster --version | head -1; "
                          "sudo -n systemctl is-active glusterd; "
                          "grep -c ' node[0-9]*$' /etc/hosts; lsblk -dn -o NAME,SIZE",
                       user="heketi").stdout.splitlines()
        assert out[:4] == [f"node{i}", out[1], "active", "3"], out
        assert out[1].startswith("glusterfs 10."), out
        disks = dict(ln.split() for ln in out[4:])
        assert disks == {"vda": "4G", "vdb": "10G", "vdc": "10G"}, out
    # the lab's addresses exist only in its netns: from the host they are unreachable
    r = subprocess.run(["ip", "route", "get", vlab.nodes[0].ip], capture_output=True, text=True)
    assert r.returncode != 0 or r.stdout.startswith("unreachable"), r.stdout


def test_topology_load_volume_fuse_mount(vlab, server, tmp_path):
    topo = {"clusters": [{"nodes": [
        {"node": {"hostnames": {"manage": [n.ip], "storage": [n.ip]}, "zone": i + 1},
         "devices": ["/dev/vdb", "/dev/vdc"]}
        for i, n in enumerate(vlab.nodes)]}]}
    path = server["dir"] / "topology.json"
    path.write_text(json.dumps(topo))
    t0 = time.monotonic()
    p = _cli(vlab, server, "topology", "load", f"--json={path}")
    assert p.returncode == 0, p.stdout + p.stderr
    t_topo = time.monotonic() - t0
    nodes = server["client"].topology_info()["clusters"][0]["nodes"]
    assert sorted(len(n["devices"]) for n in nodes) == [2, 2, 2]
    assert vlab.ssh(1, "gluster --mode=script pool list").stdout.count("Connected") == 3

    t0 = time.monotonic()
    p = _cli(vlab, server, "volume", "create", "--size=1", "--replica=3", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    t_create = time.monotonic() - t0
    vol = json.loads(p.stdout)
    name, device = vol["name"], vol["mount"]["glusterfs"]["device"]
    assert device.startswith("10.90.0.1") and len({b["node"] for b in vol["bricks"]}) == 3
    _bricks_online(vlab, name, 3)

    # the host's FUSE client, in the lab netns (the mount itself is in the host's
    # mount namespace: nsenter enters only the network namespace)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    netns = f"--net=/run/netns/{vlab.netns}"
    data = os.urandom(8 << 20)
    want = hashlib.md5(data).hexdigest()
    mounted = False
    try:
        subprocess.run(["nsenter", netns, "--", "mount", "-t", "glusterfs", "-o",
                        f"log-file={tmp_path / 'fuse.log'}", device, str(mnt)],
                       check=True, timeout=300, capture_output=True, text=True)
        mounted = True
        (mnt / "f1").write_bytes(data)
        os.sync()
        assert hashlib.md5((mnt / "f1").read_bytes()).hexdigest() == want
        node_ip = {n["id"]: n["hostnames"]["manage"][0] for n in nodes}
        for b in vol["bricks"]:
            assert _brick_md5(vlab, node_ip[b["node"]], b["path"], name) == want, b
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], timeout=120, check=False)
    assert str(mnt) not in Path("/proc/mounts").read_text()

    t0 = time.monotonic()
    p = _cli(vlab, server, "volume", "delete", vol["id"])
    assert p.returncode == 0, p.stdout + p.stderr
    t_delete = time.monotonic() - t0
    assert server["client"].volume_list()["volumes"] == []
    _assert_clean(vlab, _device_vgs(server))
    print(f"vagrant nodes: topology load {t_topo:.1f}s, replica-3 1 GiB create "
          f"{t_create:.1f}s, delete {t_delete:.1f}s")
