"""Drift repair on real nodes: each kind of drift is made by hand on the VMs
(or in the database), ``pyketi db repair --dry-run`` lists it with its action
and changes nothing, ``--apply`` repairs it, a second dry-run finds nothing,
and the nodes hold what the database says (data written before is intact).

Kinds: volume deleted by hand in gluster; brick LV removed by hand; a brick of
a volume missing from the database; leftovers of a failed operation (thin
pool + LV + mount + fstab line + brick dir with no database object).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time

import pytest

from labcheck import wipe
from labserver import REPO, lab_server

pytestmark = pytest.mark.lab

LEFT = "f0" * 16


def _repair(lab, server, *mode: str):
    t0 = time.monotonic()
    p = lab.ns_run([sys.executable, "-m", "pyketi", "db", "repair", "--config",
                    str(server["dir"] / "heketi.json"), *mode], timeout=1800, check=False,
                   cwd=REPO)
    print(f"db repair {' '.join(mode)}: {time.monotonic() - t0:.1f}s rc={p.returncode}")
    print(p.stdout)
    return p


def _topology(lab, c, count: int = 3) -> tuple[dict, dict]:
    """``count`` nodes with their first disk: ({node id: ip}, {ip: device id})."""
    cluster = c.cluster_create()["id"]
    ip_of, dev_of = {}, {}
    for i, n in enumerate(lab.nodes[:count]):
        node = c.node_add(cluster=cluster, zone=i + 1, manage=n.ip, storage=n.ip)
        ip_of[node["id"]] = n.ip
        c.device_add(node=node["id"], name=n.devices[0])
        dev_of[n.ip] = c.node_info(node["id"])["devices"][0]["id"]
    return ip_of, dev_of


def test_drift_made_by_hand_is_listed_then_repaired(lab, tmp_path):
    wipe(lab, [n.ip for n in lab.nodes])
    with lab_server(lab, tmp_path) as server:
        c = server["client"]
        t0 = time.monotonic()
        ip_of, dev_of = _topology(lab, c)
        gone = c.volume_create(size=1, durability="replicate", replica=3)
        kept = c.volume_create(size=1, durability="replicate", replica=3)
        print(f"setup (3 nodes, 2 volumes): {time.monotonic() - t0:.1f}s")
        n1 = lab.nodes[0].ip
        # data in the volume that will lose a brick
        lab.ssh(n1, f"mkdir -p /mnt/drift && mount -t glusterfs "
                    f"{kept['mount']['glusterfs']['device']} /mnt/drift && "
                    "head -c 4194304 /dev/urandom > /mnt/drift/f1 && "
                    "md5sum /mnt/drift/f1 | cut -d' ' -f1 > /tmp/drift.md5 && umount /mnt/drift")
        want = lab.ssh(n1, "cat /tmp/drift.md5").stdout.strip()

        # 1. volume deleted by hand in gluster
        lab.ssh(n1, f"gluster --mode=script volume stop {gone['name']} force; "
                    f"gluster --mode=script volume delete {gone['name']}")
        # 2. brick LV removed by hand (brick process killed, unmounted, LV + pool removed)
        lost = next(b for b in kept["bricks"] if ip_of[b["node"]] == lab.nodes[1].ip)
        host = ip_of[lost["node"]]
        mnt = lost["path"].rsplit("/", 1)[0]
        vg = f"vg_{lost['device']}"
        lab.ssh(host, f"pid=$(gluster --mode=script volume status {kept['name']} "
                      f"{host}:{lost['path']} --xml | sed -n 's:.*<pid>\\([0-9]*\\)</pid>.*:\\1:p'"
                      f" | head -1); kill -9 \"$pid\" && sleep 2 && umount {mnt} && "
                      f"lvremove -f {vg}/brick_{lost['id']} {vg}/tp_{lost['id']}")
        # 3. a brick of the volume missing from the database
        forgotten = next(b for b in kept["bricks"] if ip_of[b["node"]] == lab.nodes[2].ip)
        with sqlite3.connect(server["dir"] / "heketi.db") as db:
            db.execute("DELETE FROM bricks WHERE id = ?", (forgotten["id"],))
        # 4. leftovers of a failed operation on node1 (as a killed brick create leaves them)
        left_vg = f"vg_{dev_of[n1]}"
        left_mnt = f"/var/lib/heketi/mounts/{left_vg}/brick_{LEFT}"
        lab.ssh(n1, f"mkdir -p {left_mnt} && lvcreate -qq --size 512M --thin --virtualsize 512M "
                    f"--name brick_{LEFT} {left_vg}/tp_{LEFT} && "
                    f"mkfs.xfs -q /dev/mapper/{left_vg}-brick_{LEFT} && "
                    f"echo '/dev/mapper/{left_vg}-brick_{LEFT} {left_mnt} xfs "
                    f"rw,inode64,noatime,nouuid 1 2' >> /etc/fstab && "
                    f"mount /dev/mapper/{left_vg}-brick_{LEFT} {left_mnt} && "
                    f"mkdir {left_mnt}/brick")

        dry = _repair(lab, server, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr[-3000:]
        found = {(f["kind"], f["action"].split(":")[0]): f for f in
                 json.loads(dry.stdout)["findings"]}
        assert set(found) == {("volume-not-in-gluster", "forget-volume"),
                              ("brick-lv-missing", "recreate-brick"),
                              ("brick-not-in-db", "adopt-brick"),
                              ("leftover-brick", "destroy-leftover")}, found
        assert gone["name"] in found[("volume-not-in-gluster", "forget-volume")]["subject"]
        assert found[("brick-lv-missing", "recreate-brick")]["host"] == host
        assert lost["path"] in found[("brick-lv-missing", "recreate-brick")]["subject"]
        assert forgotten["path"] in found[("brick-not-in-db", "adopt-brick")]["subject"]
        left = found[("leftover-brick", "destroy-leftover")]
        assert left["host"] == n1
        for piece in (f"thin pool {left_vg}/tp_{LEFT}", f"LV {left_vg}/brick_{LEFT}",
                      f"mount {left_mnt}", f"fstab line {left_mnt}", f"brick dir {left_mnt}"):
            assert piece in left["subject"], left
        # a dry run changes nothing
        assert f"brick_{LEFT}" in lab.ssh(n1, "lvs --noheadings -o lv_name").stdout
        assert c.volume_info(gone["id"])["id"] == gone["id"]

        applied = _repair(lab, server, "--apply")
        assert applied.returncode == 0, applied.stdout + applied.stderr[-3000:]
        assert applied.stdout.count("done:") == 4
        again = _repair(lab, server, "--dry-run")
        assert again.returncode == 0
        assert again.stdout.strip() == "no differences between the database and the nodes"

        # the nodes and the database agree
        assert gone["id"] not in c.volume_list()["volumes"]
        for b in gone["bricks"]:
            lvs = lab.ssh(ip_of[b["node"]], "lvs --noheadings -o lv_name").stdout
            assert f"brick_{b['id']}" not in lvs and f"tp_{b['id']}" not in lvs
        n1_state = lab.ssh(n1, "lvs --noheadings -o lv_name; grep -c brick_ /etc/fstab; "
                               "cat /proc/mounts; ls /var/lib/heketi/mounts/*/").stdout
        assert LEFT not in n1_state
        info = c.volume_info(kept["id"])
        assert {b["id"] for b in info["bricks"]} == {b["id"] for b in kept["bricks"]}
        status = lab.ssh(n1, f"gluster --mode=script volume status {kept['name']}").stdout
        assert status.count(" Y ") >= 3, status  # all 3 bricks online again
        # the recreated brick heals back the data written before
        lab.ssh(n1, f"gluster --mode=script volume heal {kept['name']} full", check=False)
        deadline, got = time.monotonic() + 600, ""
        while time.monotonic() < deadline:
            got = lab.ssh(host, f"md5sum {lost['path']}/f1 2>/dev/null | cut -d' ' -f1",
                          check=False).stdout.strip()
            if got == want:
                break
            time.sleep(10)
        print(f"brick healed after {time.monotonic() - deadline + 600:.0f}s")
        assert got == want
        assert c.db_check()["totalinconsistencies"] == 0

        # not busy, deletable; the next module wipes the nodes anyway
        c.volume_delete(kept["id"])
        lab.ssh(n1, "rm -f /tmp/drift.md5; rmdir /mnt/drift", check=False)
