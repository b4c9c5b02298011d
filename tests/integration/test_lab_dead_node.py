"""Removing a dead node on real nodes (heketi fails here): a node holding a brick
of a replica-3 volume is powered off (its QEMU process quits: the plug is
pulled), then ``node remove`` (offline -> failed) moves its brick onto the
remaining node with ``replace-brick ... commit force``.  The volume stays
mounted and writable, the data written before is intact after heal, nothing
is left pending or busy, and the database no longer references the dead node
for any brick.  A removal with no placement that keeps replica 3 is refused
with the reason.

Needs 4 nodes: ``PYKETI_LAB_NODES=4`` (or a lab brought up with
``vmlab-up.sh 4`` and ``PYKETI_LAB_REUSE=1``).  The powered-off node stays
off: run this module last or alone.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from labcheck import leftovers, wipe
from labserver import lab_server, timed

pytestmark = pytest.mark.lab


def _four_nodes_and_a_volume(lab, c) -> tuple[dict[str, str], dict]:
    """One cluster of the first 4 nodes (one device each) and a replica-3 volume;
    returns ({node ip: node id}, the volume)."""
    t0 = time.monotonic()
    cluster = c.cluster_create()["id"]
    node_of: dict[str, str] = {}
    for i, n in enumerate(lab.nodes[:4]):
        node = c.node_add(cluster=cluster, zone=i + 1, manage=n.ip, storage=n.ip)
        node_of[n.ip] = node["id"]
        c.device_add(node=node["id"], name=n.devices[0])
    vol = c.volume_create(size=1, durability="replicate", replica=3)
    print(f"setup (4 nodes, replica-3 volume): {time.monotonic() - t0:.1f}s")
    return node_of, vol


def _wait_healed(lab, ip: str, path: str, want: str) -> str:
    """md5 of ``path`` on ``ip`` once it is ``want`` (self-heal), or after 600 s."""
    t0, got = time.monotonic(), ""
    while time.monotonic() - t0 < 600:
        got = lab.ssh(ip, f"md5sum {path} 2>/dev/null | cut -d' ' -f1", check=False).stdout.strip()
        if got == want:
            break
        time.sleep(10)
    print(f"new brick healed in {time.monotonic() - t0:.0f}s")
    return got


def _writer(mnt: str, stop: str) -> str:
    """A shell loop: a small file a second into the mount until ``stop`` exists (at most
    900); prints how many were written, or FAIL <n> when a write failed."""
    return (f"i=0; while [ ! -e {stop} ] && [ $i -lt 900 ]; do i=$((i+1)); "
            f"echo $i > {mnt}/w$i || {{ echo FAIL $i; exit 1; }}; sleep 1; done; echo $i")


def test_device_remove_with_its_node_off(lab, tmp_path):
    """``device remove`` of a device whose node is off (QEMU ``stop``, node still
    online in the database): the brick moves to the spare node while a client keeps
    writing, heal info and the move's progress are shown by ``/operations/pending``,
    data written before is intact after heal, the database no longer references the
    dead device.  A second removal, with no fourth live node left for replica 3, is
    refused with the reason and changes nothing.  The node comes back at the end."""
    if len(lab.nodes) < 4:
        pytest.skip("needs 4 lab nodes (PYKETI_LAB_NODES=4)")
    from pyketi.client.errors import PyketiError
    wipe(lab, [n.ip for n in lab.nodes])
    sshexec = lab.sshexec_config(connect_timeout=10, command_timeout=120)
    with lab_server(lab, tmp_path, sshexec=sshexec, disable_background_cleaner=False,
                    start_time_background_cleaner=0) as server:
        c = server["client"]
        node_of, vol = _four_nodes_and_a_volume(lab, c)
        ip_of = {v: k for k, v in node_of.items()}
        brick_ips = [ip_of[b["node"]] for b in vol["bricks"]]
        victim_ip, client_ip = brick_ips[0], brick_ips[1]
        dead = next(b for b in vol["bricks"] if ip_of[b["node"]] == victim_ip)
        mnt, stop = "/mnt/deaddev", "/tmp/stop-writer"
        lab.ssh(client_ip, f"rm -f {stop}; mkdir -p {mnt} && mount -t glusterfs "
                           f"{vol['mount']['glusterfs']['device']} {mnt} && "
                           f"head -c 4194304 /dev/urandom > {mnt}/f1")
        want = lab.ssh(client_ip, f"md5sum {mnt}/f1").stdout.split()[0]

        lab.pause(victim_ip)  # the node is off; pyketi still has it online
        try:
            t0 = time.monotonic()
            lab.ssh(client_ip, f"echo written-while-dead > {mnt}/f2")
            print(f"first write with the node off: {time.monotonic() - t0:.1f}s")
            c.device_set_state(dead["device"], "offline")

            # the removal runs while a client writes and an operator watches
            writer: dict = {}
            wt = threading.Thread(target=lambda: writer.update(r=lab.ssh(
                client_ip, _writer(mnt, stop), check=False, timeout=1200)))
            wt.start()
            box: dict = {}
            rt = threading.Thread(target=lambda: box.update(r=timed(
                c.device_set_state, dead["device"], "failed")))
            t0 = time.monotonic()
            rt.start()
            seen: list[str] = []
            while rt.is_alive() and time.monotonic() - t0 < 900:
                for op in c.pending_operations()["pendingoperations"]:
                    if op.get("progress") and op["progress"] not in seen:
                        seen.append(op["progress"])
                time.sleep(1)
            rt.join(60)
            took, _, err = box["r"]
            print(f"device remove with its node off: {took:.1f}s")
            print("progress seen:\n  " + "\n  ".join(seen))
            assert err is None, err
            lab.ssh(client_ip, f"touch {stop}")
            wt.join(120)
            written = writer["r"].stdout.strip()
            print(f"writer: {written} files, one a second, during the removal")
            assert "FAIL" not in written and int(written) > 0, writer["r"]

            heal = [p for p in seen if f"heal info of {vol['name']} before replacing brick "
                    f"{dead['id']}: 2 of 2 other copies online (need 2)" in p]
            assert heal, seen
            assert f"old brick on {victim_ip} " in heal[0] and \
                f"old brick on {victim_ip} Connected" not in heal[0], heal[0]
            assert any("brick_replace" in p for p in seen), seen

            info = c.volume_info(vol["id"])
            assert len(info["bricks"]) == 3 and dead["id"] not in {b["id"] for b in info["bricks"]}
            assert node_of[victim_ip] not in {b["node"] for b in info["bricks"]}
            assert c.device_info(dead["device"])["bricks"] == []
            assert c.device_info(dead["device"])["state"] == "failed"
            # only the old brick's destroy waits, for its node (the volume is not held)
            pending = c.pending_operations()["pendingoperations"]
            assert [(p["type_name"], p["status"]) for p in pending] == \
                [("leftover-bricks", "failed")], pending
            gluster = lab.ssh(client_ip, f"gluster --mode=script volume info {vol['name']}").stdout
            assert f"{victim_ip}:" not in gluster and "Number of Bricks: 1 x 3 = 3" in gluster
            lab.ssh(client_ip, f"mountpoint -q {mnt} && echo after > {mnt}/f3")

            # heal fills the new brick with the data written before
            new = next(b for b in info["bricks"] if ip_of[b["node"]] not in brick_ips)
            new_ip = ip_of[new["node"]]
            lab.ssh(client_ip, f"gluster --mode=script volume heal {vol['name']} full",
                    check=False)
            assert _wait_healed(lab, new_ip, f"{new['path']}/f1", want) == want
            assert lab.ssh(client_ip, f"md5sum {mnt}/f1").stdout.split()[0] == want
            assert lab.ssh(client_ip, f"cat {mnt}/f2").stdout.strip() == "written-while-dead"
            n = int(written)
            assert lab.ssh(client_ip, f"cat {mnt}/w{n}").stdout.strip() == str(n)

            # no fourth live node for replica 3: a second removal is refused, says why
            other = next(b for b in info["bricks"] if ip_of[b["node"]] == client_ip)
            c.device_set_state(other["device"], "offline")
            with pytest.raises(PyketiError) as refused:
                c.device_set_state(other["device"], "failed")
            print(f"refused: {refused.value.message}")
            assert "replica 3 keeps the 3 copies of a brick on 3 different nodes" in \
                refused.value.message, refused.value.message
            c.device_set_state(other["device"], "online")
            assert c.volume_info(vol["id"])["bricks"] == info["bricks"]

            # the dead device leaves the database
            c.device_delete(dead["device"], force_forget=True)
            topo = c.topology_info()
            assert dead["device"] not in str(topo)
        finally:
            lab.ssh(client_ip, f"touch {stop}", check=False)
            lab.resume(victim_ip)
        # the node is back: the background cleaner destroys the old brick left there
        t0 = time.monotonic()
        while c.pending_operations()["pendingoperations"] and time.monotonic() - t0 < 600:
            time.sleep(5)
        print(f"old brick destroyed by the cleaner {time.monotonic() - t0:.0f}s after the "
              "node came back")
        assert c.pending_operations()["pendingoperations"] == []
        left = leftovers(lab, victim_ip, peers=False)
        assert not any(dead["id"] in line for k in ("lvs", "mounts", "fstab", "dirs")
                       for line in left.get(k, [])), left
        lab.ssh(client_ip, f"umount {mnt} && rmdir {mnt}", check=False)
        try:
            c.volume_delete(vol["id"])
        except Exception as e:  # noqa: BLE001 - cleanup; the next module wipes the nodes
            print(f"volume delete after the node came back: {e}")


def test_remove_a_powered_off_node_moves_its_bricks(lab, tmp_path):
    if len(lab.nodes) < 4:
        pytest.skip("needs 4 lab nodes (PYKETI_LAB_NODES=4)")
    wipe(lab, [n.ip for n in lab.nodes])
    with lab_server(lab, tmp_path) as server:
        c = server["client"]
        node_of, vol = _four_nodes_and_a_volume(lab, c)
        ip_of = {v: k for k, v in node_of.items()}
        brick_ips = [ip_of[b["node"]] for b in vol["bricks"]]
        client_ip = next(n.ip for n in lab.nodes[:4] if n.ip not in brick_ips[1:])
        victim_ip = next(ip for ip in brick_ips if ip != client_ip)
        victim = node_of[victim_ip]
        victim_index = next(i for i, n in enumerate(lab.nodes, 1) if n.ip == victim_ip)

        lab.ssh(client_ip, f"mkdir -p /mnt/dead && mount -t glusterfs "
                           f"{vol['mount']['glusterfs']['device']} /mnt/dead && "
                           "head -c 4194304 /dev/urandom > /mnt/dead/f1 && "
                           "md5sum /mnt/dead/f1 | cut -d' ' -f1")
        want = lab.ssh(client_ip, "md5sum /mnt/dead/f1").stdout.split()[0]

        # pull the plug
        lab.power_off(victim_index)
        lab.ssh(client_ip, "echo written-while-dead > /mnt/dead/f2")
        heal = lab.ssh(client_ip, f"gluster --mode=script volume heal {vol['name']} info",
                       check=False).stdout
        print("heal info before removal:\n" + heal)

        t0 = time.monotonic()
        c.node_set_state(victim, "offline")
        c.node_set_state(victim, "failed")
        print(f"node remove of the dead node: {time.monotonic() - t0:.1f}s")

        info = c.volume_info(vol["id"])
        assert len(info["bricks"]) == 3
        assert victim not in {b["node"] for b in info["bricks"]}
        assert all(d["bricks"] == [] and d["state"] == "failed"
                   for d in c.node_info(victim)["devices"])
        gluster = lab.ssh(client_ip, f"gluster --mode=script volume info {vol['name']}").stdout
        assert f"{victim_ip}:" not in gluster and "Number of Bricks: 1 x 3 = 3" in gluster
        # only the old brick's destroy waits, for the dead node (the volume is not held)
        pending = c.pending_operations().get("pendingoperations", [])
        assert [(p["type_name"], p["status"]) for p in pending] == \
            [("leftover-bricks", "failed")], pending
        # still mounted and writable
        lab.ssh(client_ip, "mountpoint -q /mnt/dead && echo after > /mnt/dead/f3")
        new = next(b for b in info["bricks"] if ip_of[b["node"]] not in brick_ips)
        new_ip = ip_of[new["node"]]
        # heal fills the new brick with the data written before
        lab.ssh(client_ip, f"gluster --mode=script volume heal {vol['name']} full", check=False)
        assert _wait_healed(lab, new_ip, f"{new['path']}/f1", want) == want
        assert lab.ssh(client_ip, "md5sum /mnt/dead/f1").stdout.split()[0] == want
        assert lab.ssh(client_ip, "cat /mnt/dead/f2").stdout.strip() == "written-while-dead"

        # 3 nodes left for replica 3: no placement keeps the durability -> refused
        other = next(b["node"] for b in info["bricks"] if ip_of[b["node"]] != client_ip)
        c.node_set_state(other, "offline")
        with pytest.raises(Exception) as refused:
            c.node_set_state(other, "failed")
        assert "no device was found to replace" in str(refused.value), refused.value
        c.node_set_state(other, "online")
        assert {b["id"] for b in c.volume_info(vol["id"])["bricks"]} == \
            {b["id"] for b in info["bricks"]}

        # gluster refuses `volume delete` while a peer is down ("Some of the peers are
        # down", seen on the lab): forget the dead node's device, delete the node (its
        # peer detach works once it holds no brick), then the volume deletes (no 409)
        lab.ssh(client_ip, "umount /mnt/dead && rmdir /mnt/dead")
        for d in c.node_info(victim)["devices"]:
            c.device_delete(d["id"], force_forget=True)
        c.node_delete(victim)
        assert c.pending_operations().get("pendingoperations", []) == []  # dropped with it
        pool = lab.ssh(client_ip, "gluster --mode=script pool list").stdout
        assert victim_ip not in pool, pool
        c.volume_delete(vol["id"])
        assert vol["id"] not in c.volume_list()["volumes"]
        if os.environ.get("PYKETI_LAB_REUSE") == "1":
            print(f"node{victim_index} stays powered off: bring the lab down and up again")
