"""A storage VM frozen during a volume create, then an expand (QEMU ``stop``):
issue 8, item 5, and issue 12 ("a node that dies").

The pyketi server (inside the lab netns, background cleaner on) has the three
VMs in one cluster.  node3 is paused while a replica-3 create runs: the create
fails after one command/connect timeout, its undo on node3 is left to the
cleaner, and while node3 stays paused further creates fail fast naming it and
reads answer at once.  After ``cont`` the cleaner removes what the failed
create left on node3, and a create works again.  node3 is then paused 2 s into
an expand of that volume: the expand fails within the timeouts naming node3,
the new bricks on node1/node2 are gone at once, node3's once the cleaner gets
to it after ``cont``; the volume is unchanged.  The lab ends empty.
"""

from __future__ import annotations

import threading
import time

import pytest

from labcheck import leftovers
from labserver import lab_server, timed

pytestmark = pytest.mark.lab

COMMAND_TIMEOUT = 60
CONNECT_TIMEOUT = 10
COOLDOWN = 90


def _brick_lvs(lab, ip: str) -> list[str]:
    """The brick LVs and thin pools on a node, sorted."""
    out = lab.ssh(ip, "lvs --noheadings -o lv_name 2>/dev/null | grep -E 'brick_|tp_' || true",
                  timeout=300).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def test_paused_node_fails_fast_then_cleaner_undoes(lab, tmp_path_factory):
    from pyketi.client.errors import PyketiError
    nodes = lab.nodes[:3]  # a 4-node lab (PYKETI_LAB_NODES=4) runs it on three
    n3 = nodes[2]
    sshexec = lab.sshexec_config(connect_timeout=CONNECT_TIMEOUT,
                                 command_timeout=COMMAND_TIMEOUT)
    with lab_server(lab, tmp_path_factory.mktemp("pyketi-lab-hung"), sshexec=sshexec,
                    node_unreachable_seconds=COOLDOWN, disable_background_cleaner=False,
                    start_time_background_cleaner=1) as server:
        c = server["client"]
        cluster = c.cluster_create()["id"]
        node_ids = []
        for i, n in enumerate(nodes):
            node = c.node_add(cluster=cluster, zone=i + 1, manage=n.ip, storage=n.ip)
            c.device_add(node=node["id"], name=n.devices[0])
            node_ids.append(node["id"])
        paused = False
        try:
            # 1. node3 freezes while a replica-3 create runs
            box: dict = {}
            worker = threading.Thread(target=lambda: box.update(
                r=timed(c.volume_create, size=1, durability="replicate", replica=3)))
            worker.start()
            time.sleep(2)
            lab.pause(n3.ip)
            paused = True
            worker.join(COMMAND_TIMEOUT + 2 * CONNECT_TIMEOUT + 240)
            assert not worker.is_alive(), "volume create still running"
            took, _, err = box["r"]
            assert isinstance(err, PyketiError), err
            print(f"create with node3 paused failed after {took:.1f}s: {err.message[:300]}")
            assert took < COMMAND_TIMEOUT + 2 * CONNECT_TIMEOUT + 120
            pending = c.pending_operations()["pendingoperations"]
            assert [p["status"] for p in pending] == ["failed"], pending

            # 2. while it stays paused: fail fast, naming node3; reads answer at once
            took, _, err = timed(c.volume_create, size=1, durability="replicate", replica=3)
            print(f"second create failed after {took:.1f}s: {err}")
            assert isinstance(err, PyketiError) and f"Node {n3.ip} is unreachable" in err.message
            assert took < 10, took
            for call in (c.volume_list, c.topology_info, c.operations_info,
                         lambda: c.node_info(node_ids[2])):
                took, _, err = timed(call)
                assert err is None and took < 3, (call, took, err)
            assert len(c.pending_operations()["pendingoperations"]) == 1
        finally:
            if paused:
                lab.resume(n3.ip)

        # 3. node3 answers again: the cleaner undoes the failed create there
        deadline = time.monotonic() + COOLDOWN + 300
        while c.pending_operations()["pendingoperations"] and time.monotonic() < deadline:
            time.sleep(5)
        assert c.pending_operations()["pendingoperations"] == []
        assert c.volume_list()["volumes"] == []
        for n in nodes:
            left = leftovers(lab, n.ip, peers=False)
            for key in ("vgs", "pvs", "dirs"):
                left.pop(key, None)
            assert left == {}, f"{n.name}: {left}"

        # 4. and it is usable again
        vol = c.volume_create(size=1, durability="replicate", replica=3)
        assert len(vol["bricks"]) == 3

        # 5. node3 freezes in the middle of an expand: fails within the timeouts naming
        # node3, the new bricks on node1/node2 are removed at once, node3's by the cleaner
        # once it answers; the volume is as before
        lvs_before = {n.ip: _brick_lvs(lab, n.ip) for n in nodes}
        box = {}
        worker = threading.Thread(target=lambda: box.update(
            r=timed(c.volume_expand, vol["id"], 1)))
        worker.start()
        time.sleep(2)
        lab.pause(n3.ip)
        try:
            worker.join(COMMAND_TIMEOUT + 2 * CONNECT_TIMEOUT + 240)
            assert not worker.is_alive(), "volume expand still running"
            took, _, err = box["r"]
            print(f"expand with node3 paused failed after {took:.1f}s: {err}")
            assert isinstance(err, PyketiError) and n3.ip in err.message, err
            assert took < COMMAND_TIMEOUT + 2 * CONNECT_TIMEOUT + 120
            pending = c.pending_operations()["pendingoperations"]
            assert [(p["type_name"], p["status"]) for p in pending] == \
                [("expand-volume", "failed")], pending
            for n in nodes[:2]:
                assert _brick_lvs(lab, n.ip) == lvs_before[n.ip], n.name
        finally:
            lab.resume(n3.ip)
        t0, deadline = time.monotonic(), time.monotonic() + COOLDOWN + 300
        while c.pending_operations()["pendingoperations"] and time.monotonic() < deadline:
            time.sleep(5)
        print(f"cleaner undid the expand {time.monotonic() - t0:.0f}s after node3 resumed")
        assert c.pending_operations()["pendingoperations"] == []
        for n in nodes:
            assert _brick_lvs(lab, n.ip) == lvs_before[n.ip], n.name
        info = c.volume_info(vol["id"])
        assert info["size"] == 1 and {b["id"] for b in info["bricks"]} == \
            {b["id"] for b in vol["bricks"]}

        # then leave the lab empty
        c.volume_delete(vol["id"])
        for nid in node_ids:
            for d in c.node_info(nid)["devices"]:
                c.device_set_state(d["id"], "offline")
                c.device_set_state(d["id"], "failed")
                c.device_delete(d["id"])
            c.node_set_state(nid, "offline")
            c.node_set_state(nid, "failed")
            c.node_delete(nid)
        c.cluster_delete(cluster)
    for n in nodes:
        assert leftovers(lab, n.ip) == {}, n.name
