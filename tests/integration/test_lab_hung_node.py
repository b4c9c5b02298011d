"""A storage VM frozen during a volume create (QEMU ``stop``): issue 8, item 5.

The pyketi server (inside the lab netns, background cleaner on) has the three
VMs in one cluster.  node3 is paused while a replica-3 create runs: the create
fails after one command/connect timeout, its undo on node3 is left to the
cleaner, and while node3 stays paused further creates fail fast naming it and
reads answer at once.  After ``cont`` the cleaner removes what the failed
create left on node3, and a create works again.  The lab ends empty.
"""

from __future__ import annotations

import threading
import time

import pytest

from labcheck import leftovers
from labserver import lab_server

pytestmark = pytest.mark.lab

COMMAND_TIMEOUT = 60
CONNECT_TIMEOUT = 10
COOLDOWN = 90


def _timed(fn, *a, **kw):
    t0 = time.monotonic()
    try:
        return time.monotonic() - t0, fn(*a, **kw), None
    except Exception as e:  # noqa: BLE001 - returned to the test
        return time.monotonic() - t0, None, e


def test_paused_node_fails_fast_then_cleaner_undoes(lab, tmp_path_factory):
    from pyketi.client.errors import PyketiError
    n3 = lab.nodes[2]
    sshexec = lab.sshexec_config(connect_timeout=CONNECT_TIMEOUT,
                                 command_timeout=COMMAND_TIMEOUT)
    with lab_server(lab, tmp_path_factory.mktemp("pyketi-lab-hung"), sshexec=sshexec,
                    node_unreachable_seconds=COOLDOWN, disable_background_cleaner=False,
                    start_time_background_cleaner=1) as server:
        c = server["client"]
        cluster = c.cluster_create()["id"]
        node_ids = []
        for i, n in enumerate(lab.nodes):
            node = c.node_add(cluster=cluster, zone=i + 1, manage=n.ip, storage=n.ip)
            c.device_add(node=node["id"], name=n.devices[0])
            node_ids.append(node["id"])
        paused = False
        try:
            # 1. node3 freezes while a replica-3 create runs
            box: dict = {}
            worker = threading.Thread(target=lambda: box.update(
                r=_timed(c.volume_create, size=1, durability="replicate", replica=3)))
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
            took, _, err = _timed(c.volume_create, size=1, durability="replicate", replica=3)
            print(f"second create failed after {took:.1f}s: {err}")
            assert isinstance(err, PyketiError) and f"Node {n3.ip} is unreachable" in err.message
            assert took < 10, took
            for call in (c.volume_list, c.topology_info, c.operations_info,
                         lambda: c.node_info(node_ids[2])):
                took, _, err = _timed(call)
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
        for n in lab.nodes:
            left = leftovers(lab, n.ip, peers=False)
            for key in ("vgs", "pvs", "dirs"):
                left.pop(key, None)
            assert left == {}, f"{n.name}: {left}"

        # 4. and it is usable again; then leave the lab empty
        vol = c.volume_create(size=1, durability="replicate", replica=3)
        assert len(vol["bricks"]) == 3
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
    for n in lab.nodes:
        assert leftovers(lab, n.ip) == {}, n.name
