"""pyketi end to end on real nodes: the server (SQLite, ssh executor) runs inside
the lab netns, is driven through its API (and the CLI for topology load), and
manages LVM thin bricks and a replica-3 gluster volume on the 3 VMs.

The tests of this module share one server and run in order:
topology load -> volume lifecycle (mount, write, 3 copies, expand, delete)
-> failing brick step (full device) -> glusterd down -> device/node delete.
After every test nothing of deleted objects remains on any node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from xml.etree import ElementTree

import pytest

from labcheck import leftovers
from labserver import ADMIN_KEY, REPO, lab_server

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def server(lab, tmp_path_factory):
    with lab_server(lab, tmp_path_factory.mktemp("pyketi-lab-server")) as srv:
        yield srv


def _cli(lab, server, *args: str) -> subprocess.CompletedProcess:
    return lab.ns_run([sys.executable, "-m", "pyketi.cli.main", "--server", server["url"],
                       "--user", "admin", "--secret", ADMIN_KEY, *args],
                      timeout=1800, check=False, cwd=REPO)


def _state(server) -> dict:
    return server["client"].topology_info()


def _assert_clean(lab, expect_vgs: dict[str, set[str]] | None = None) -> None:
    """No brick LV, mount, fstab line, gluster volume; VGs only those expected."""
    for n in lab.nodes:
        left = leftovers(lab, n.ip, peers=False)
        vgs = set(left.pop("vgs", []))
        left.pop("pvs", None)
        left.pop("dirs", None)  # vg_<id> mount dirs of registered devices
        assert left == {}, f"{n.name}: {left}"
        assert vgs == (expect_vgs or {}).get(n.ip, set()), f"{n.name}: VGs {vgs}"


def _device_vgs(server) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in _state(server)["clusters"]:
        for node in c["nodes"]:
            ip = node["hostnames"]["manage"][0]
            out[ip] = {f"vg_{d['id']}" for d in node["devices"]}
    return out


def test_topology_load_3_nodes_2_devices(lab, server):
    topo = {"clusters": [{"nodes": [
        {"node": {"hostnames": {"manage": [n.ip], "storage": [n.ip]}, "zone": i + 1},
         "devices": [{"name": dev, "destroydata": False} for dev in n.devices]}
        for i, n in enumerate(lab.nodes)]}]}
    path = server["dir"] / "topology.json"
    path.write_text(json.dumps(topo))
    t0 = time.monotonic()
    p = _cli(lab, server, "topology", "load", f"--json={path}")
    assert p.returncode == 0, p.stdout + p.stderr
    print(f"topology load (3 nodes x 2 devices): {time.monotonic() - t0:.1f}s")
    clusters = _state(server)["clusters"]
    assert len(clusters) == 1
    nodes = clusters[0]["nodes"]
    assert len(nodes) == 3
    for node in nodes:
        assert len(node["devices"]) == 2
        for d in node["devices"]:
            assert 9 * 1024 * 1024 < d["storage"]["total"] <= 10 * 1024 * 1024
    peers = lab.ssh(1, "gluster --mode=script pool list").stdout
    assert peers.count("Connected") == 3, peers
    _assert_clean(lab, _device_vgs(server))


def test_volume_create_mount_write_expand_delete(lab, server):
    c = server["client"]
    t0 = time.monotonic()
    vol = c.volume_create(size=1, durability="replicate", replica=3)
    t_create = time.monotonic() - t0
    name = vol["name"]
    assert vol["durability"]["replicate"]["replica"] == 3
    bricks = vol["bricks"]
    assert len(bricks) == 3
    by_node = {b["node"] for b in bricks}
    assert len(by_node) == 3

    try:
        _lifecycle(lab, server, c, vol, t_create)
    finally:
        if vol["id"] in c.volume_list()["volumes"]:  # a failure above: do not leave it
            lab.ssh(1, "umount /mnt/pyketi", check=False)
            c.volume_delete(vol["id"])


def _bricks_online(lab, name: str, count: int, timeout: float = 180) -> None:
    """`gluster volume start` returns once glusterd has spawned the brick processes;
    under TCG a brick may take seconds to listen. Wait until all report Online Y."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = lab.ssh(1, f"gluster --mode=script volume status {name} --xml",
                      check=False).stdout
        try:
            nodes = ElementTree.fromstring(out).iter("node")
        except ElementTree.ParseError:
            nodes = iter(())
        online = [n for n in nodes if (n.findtext("path") or "").startswith("/")
                  and n.findtext("status") == "1"]
        if len(online) == count:
            return
        time.sleep(2)
    raise AssertionError(f"bricks of {name} not all online after {timeout}s:\n{out}")


def _brick_md5(lab, ip: str, path: str, name: str, timeout: float = 180) -> str:
    """md5 of f1 on a brick; a brick the client reached late gets it from self-heal."""
    deadline = time.monotonic() + timeout
    healed = False
    while True:
        p = lab.ssh(ip, f"md5sum {path}/f1", check=False)
        if p.returncode == 0:
            return p.stdout.split()[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"{ip}:{path}/f1 missing after {timeout}s: {p.stderr}")
        if not healed:
            lab.ssh(1, f"gluster --mode=script volume heal {name}", check=False)
            healed = True
        time.sleep(3)


def _lifecycle(lab, server, c, vol: dict, t_create: float) -> None:
    name = vol["name"]
    bricks = vol["bricks"]
    info = lab.ssh(1, f"gluster --mode=script volume info {name}").stdout
    assert "Number of Bricks: 1 x 3 = 3" in info and "Status: Started" in info
    _bricks_online(lab, name, 3)

    # mount with the FUSE client on node1, write, read back, one copy per brick
    mount = vol["mount"]["glusterfs"]["device"]
    lab.ssh(1, f"mkdir -p /mnt/pyketi && mount -t glusterfs {mount} /mnt/pyketi && "
               "head -c 8388608 /dev/urandom > /mnt/pyketi/f1 && "
               "md5sum /mnt/pyketi/f1 | cut -d' ' -f1 > /tmp/f1.md5 && "
               "cmp <(cat /mnt/pyketi/f1) /mnt/pyketi/f1")
    want = lab.ssh(1, "cat /tmp/f1.md5").stdout.strip()
    node_ip = {n["id"]: n["hostnames"]["manage"][0]
               for cl in _state(server)["clusters"] for n in cl["nodes"]}
    for b in bricks:
        assert _brick_md5(lab, node_ip[b["node"]], b["path"], name) == want, b

    # expand: a second replica set
    t0 = time.monotonic()
    vol2 = c.volume_expand(vol["id"], 1)
    t_expand = time.monotonic() - t0
    assert len(vol2["bricks"]) == 6
    info = lab.ssh(1, f"gluster --mode=script volume info {name}").stdout
    assert "Number of Bricks: 2 x 3 = 6" in info
    lab.ssh(1, "head -c 1048576 /dev/urandom > /mnt/pyketi/f2 && ls /mnt/pyketi | wc -l")
    lab.ssh(1, "umount /mnt/pyketi && rmdir /mnt/pyketi && rm -f /tmp/f1.md5")

    t0 = time.monotonic()
    c.volume_delete(vol["id"])
    t_delete = time.monotonic() - t0
    assert c.volume_list()["volumes"] == []
    _assert_clean(lab, _device_vgs(server))
    print(f"replica-3 1 GiB: create {t_create:.1f}s, expand {t_expand:.1f}s, "
          f"delete {t_delete:.1f}s")


def test_failing_brick_step_leaves_nothing(lab, server):
    """node3's devices are full behind pyketi's back: lvcreate fails there."""
    from pyketi.client.errors import PyketiError
    c = server["client"]
    n3 = lab.nodes[2]
    vgs = sorted(_device_vgs(server)[n3.ip])
    fill = "; ".join(f"lvcreate -qq -y -l 100%FREE -n pyketi_filler {vg}" for vg in vgs)
    lab.ssh(n3.ip, fill)
    try:
        with pytest.raises(PyketiError) as ei:
            c.volume_create(size=2, durability="replicate", replica=3)
        assert ei.value.status >= 400
        print(f"expected failure: {ei.value.message[:300]}")
        assert c.volume_list()["volumes"] == []
    finally:
        lab.ssh(n3.ip, "; ".join(f"lvremove -qq -f {vg}/pyketi_filler" for vg in vgs),
                check=False)
    _assert_clean(lab, _device_vgs(server))
    # the devices' free space is intact
    for cl in _state(server)["clusters"]:
        for node in cl["nodes"]:
            for d in node["devices"]:
                assert d["storage"]["used"] == 0, d


def test_glusterd_down_fails_clearly_and_undoes(lab, server):
    from pyketi.client.errors import PyketiError
    c = server["client"]
    n2 = lab.nodes[1]
    lab.ssh(n2.ip, "systemctl stop glusterd")
    try:
        with pytest.raises(PyketiError) as ei:
            c.volume_create(size=1, durability="replicate", replica=3)
        msg = ei.value.message
        print(f"expected failure: {msg[:300]}")
        assert msg.strip() and "Process exited with status" not in msg  # the reason
        assert c.volume_list()["volumes"] == []
    finally:
        lab.ssh(n2.ip, "systemctl start glusterd")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            out = lab.ssh(1, "gluster --mode=script pool list", check=False).stdout
            if out.count("Connected") == 3:
                break
            time.sleep(3)
    _assert_clean(lab, _device_vgs(server))


def _delete_node(c, node: dict) -> None:
    """heketi's order: devices offline -> failed (remove) -> delete, then the node."""
    for d in node["devices"]:
        c.device_set_state(d["id"], "offline")
        c.device_set_state(d["id"], "failed")
        c.device_delete(d["id"])
    c.node_set_state(node["id"], "offline")
    c.node_set_state(node["id"], "failed")
    c.node_delete(node["id"])


def test_device_and_node_delete_when_empty(lab, server):
    c = server["client"]
    n3 = lab.nodes[2]
    node = next(n for cl in _state(server)["clusters"] for n in cl["nodes"]
                if n["hostnames"]["manage"][0] == n3.ip)
    _delete_node(c, node)
    left = leftovers(lab, n3.ip)
    assert left == {}, left
    peers = lab.ssh(1, "gluster --mode=script pool list").stdout
    assert n3.ip not in peers

    # empty the rest too, so the lab ends as it started
    for cl in _state(server)["clusters"]:
        for nd in cl["nodes"]:
            _delete_node(c, nd)
        c.cluster_delete(cl["id"])
    for n in lab.nodes:
        assert leftovers(lab, n.ip) == {}, n.name

