"""Two pyketi servers on one PostgreSQL driving the lab's 3 nodes (issue 12).

Both servers run inside the lab netns (they reach the nodes there) and use the
host's PostgreSQL through its unix socket (``/var/run/postgresql``: a socket is a
file, not in any network namespace, so no TCP forward and no traffic off the
machine; the host's PostgreSQL listens on 127.0.0.1 only).  Each test gets a fresh
database (a copy of the suite's migrated template, as the other PostgreSQL tests).

Default run: the topology is loaded through A; a replica-3 create through each
server at once; then, while B deletes A's volume, A is killed (SIGKILL) in the
middle of another create (its bricks made, the gluster ``volume create`` running):
B rolls the create back (operation lease 10 s), finishes its delete, and the
nodes (LVs, mounts, fstab lines, gluster volumes) match the database.
``PYKETI_LAB_FULL=1`` adds a kill in the middle of a delete, which B finishes.

A (and the FULL run's A2) runs as another host would: in its own pid and UTS
namespaces (``unshare``, another host name; a container is exactly that), so B
cannot take A's pid for dead (the same-host shortcut) and must wait for A's lease:
B takes the operation over no sooner than the lease after A's last heartbeat and
no later than the lease plus one cleaner look (every ``min(lease, 5)`` s).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from labcheck import leftovers
from labserver import lab_server
from test_lab_api import _delete_node

pytestmark = pytest.mark.lab

LEASE = 10  # seconds, as in the report on main
PG_SOCKET_DIR = os.environ.get("PYKETI_LAB_PG_SOCKET", "/var/run/postgresql")
FULL = os.environ.get("PYKETI_LAB_FULL") == "1"
REPLICA3 = {"size": 1, "durability": "replicate", "replica": 3}


@pytest.fixture
def pg_url():
    """A fresh, empty database (server A creates the schema), reached through the host's
    PostgreSQL unix socket; dropped at the end."""
    try:
        import psycopg
        admin = psycopg.connect(f"host={PG_SOCKET_DIR} user=postgres dbname=test",
                                autocommit=True, connect_timeout=3)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"PostgreSQL through {PG_SOCKET_DIR} unavailable: {e}")
    name = f"pyketi_lab_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@/{name}?host={PG_SOCKET_DIR}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server(lab, tmp_path_factory, name: str, url: str, other_host: str | None = None):
    return lab_server(lab, tmp_path_factory.mktemp(f"pyketi-lab-{name}"),
                      database_url=url, operation_lease_seconds=LEASE,
                      disable_background_cleaner=False, start_time_background_cleaner=0,
                      other_host=other_host)


def _in_thread(fn, *a, **kw) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*a, **kw)
        except Exception as e:  # noqa: BLE001 - looked at by the test
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def _log_size(server) -> int:
    return (Path(server["dir"]) / "server.log").stat().st_size


def _wait_log(server, pattern: str, timeout: float, since: int = 0) -> None:
    """Wait for ``pattern`` in the server's log, written after byte ``since``."""
    log = Path(server["dir"]) / "server.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, "rb") as fh:
            fh.seek(since)
            if re.search(pattern, fh.read().decode(errors="replace")):
                return
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not in {log} after {timeout} s")


def _kill(server) -> None:
    os.kill(server["proc"].pid, signal.SIGKILL)  # the PID we started (ip netns exec execs)
    server["proc"].wait(10)


def _wait_taken_over(client, type_name: str, timeout: float) -> float:
    """Seconds until no ``type_name`` operation is left as its (killed) owner left it:
    the survivor's cleaner claimed it (status ``stale``) or already ended it.  Only that
    kind: the survivor's own operation running meanwhile (a delete) is status "" too."""
    t0 = time.monotonic()
    while any(op["status"] == "" and op["type_name"] == type_name
              for op in client.pending_operations()["pendingoperations"]):
        assert time.monotonic() - t0 < timeout, client.pending_operations()
        time.sleep(0.5)
    return time.monotonic() - t0


def _assert_after_the_lease(seconds: float) -> None:
    """Taken over by the lease, not by a pid seen dead: no sooner than the lease after the
    last heartbeat (renewed every lease / 4), no later than the lease plus one cleaner
    look (every min(lease, 5) s), with a few seconds for a loaded machine."""
    assert LEASE * 3 / 4 <= seconds <= LEASE + min(LEASE, 5) + 10, seconds


def _wait_no_operations(client, timeout: float) -> float:
    t0 = time.monotonic()
    while client.pending_operations()["pendingoperations"]:
        assert time.monotonic() - t0 < timeout, client.pending_operations()
        time.sleep(2)
    return time.monotonic() - t0


def _nodes_match_db(lab, client) -> None:
    """Per node: brick LVs + thin pools, brick mounts and fstab lines are exactly the
    database's bricks there; the gluster volumes are the database's volumes."""
    topo = client.topology_info()
    names = {v["name"] for c in topo["clusters"] for v in c["volumes"]}
    for c in topo["clusters"]:
        for node in c["nodes"]:
            ip = node["hostnames"]["manage"][0]
            lvs, mounts = set(), set()
            for d in node["devices"]:
                for b in d["bricks"]:
                    lvs |= {f"vg_{d['id']} brick_{b['id']}", f"vg_{d['id']} tp_{b['id']}"}
                    mounts.add(b["path"].rsplit("/", 1)[0])
            left = leftovers(lab, ip, peers=False)
            assert {" ".join(x.split()) for x in left.get("lvs", [])} == lvs, (ip, left)
            assert {x.split()[1] for x in left.get("mounts", [])} == mounts, (ip, left)
            assert len(left.get("fstab", [])) == len(mounts), (ip, left)
            assert set(left.get("volumes", [])) == names, (ip, left)


def _teardown_topology(client) -> None:
    for v in client.volume_list()["volumes"]:
        client.volume_delete(v)
    for c in client.topology_info()["clusters"]:
        for node in c["nodes"]:
            _delete_node(client, node)
        client.cluster_delete(c["id"])


def test_two_servers_share_the_nodes_and_the_survivor_undoes_a_killed_create(
        lab, tmp_path_factory, pg_url):
    timings: dict[str, float] = {}
    with _server(lab, tmp_path_factory, "a", pg_url, other_host="pyketi-host-a") as a, \
            _server(lab, tmp_path_factory, "b", pg_url) as b:
        ca, cb = a["client"], b["client"]
        t0 = time.monotonic()
        cluster = ca.cluster_create()["id"]
        for i, n in enumerate(lab.nodes):
            node = ca.node_add(cluster=cluster, zone=i + 1, manage=n.ip, storage=n.ip)
            ca.device_add(node=node["id"], name=n.devices[0])
        timings["topology"] = time.monotonic() - t0

        # 1. a create through each server at once: two volumes, six distinct bricks
        t0 = time.monotonic()
        (ta, ba), (tb, bb) = (_in_thread(ca.volume_create, **REPLICA3),
                              _in_thread(cb.volume_create, **REPLICA3))
        ta.join(900)
        tb.join(900)
        assert "value" in ba and "value" in bb, (ba, bb)
        timings["two creates"] = time.monotonic() - t0
        va, vb = ba["value"], bb["value"]
        paths = [br["path"] for v in (va, vb) for br in v["bricks"]]
        assert len(set(paths)) == 6
        _nodes_match_db(lab, cb)

        # 2. B deletes A's volume while A is killed in the middle of a create
        t0 = time.monotonic()
        since = _log_size(a)
        td, bd = _in_thread(cb.volume_delete, va["id"])
        tc, bc = _in_thread(ca.volume_create, **REPLICA3)
        _wait_log(a, r"step 1/2 bricks_create on \S+ done", 300, since)
        _kill(a)
        timings["taken over after kill"] = _wait_taken_over(cb, "create-volume", 120)
        _assert_after_the_lease(timings["taken over after kill"])
        timings["rolled back after kill"] = _wait_no_operations(cb, 600)
        td.join(600)
        assert "value" in bd, bd
        tc.join(120)  # its client gives up after 60 s without the server
        assert "error" in bc, bc
        timings["delete + kill + rollback"] = time.monotonic() - t0
        log_b = (Path(b["dir"]) / "server.log").read_text(errors="replace")
        assert re.search(r"cleaner: operation \S+ \(create-volume\) rolled back", log_b)
        assert cb.volume_list()["volumes"] == [vb["id"]]
        _nodes_match_db(lab, cb)

        if FULL:  # 3. a server killed in the middle of a delete: the other finishes it
            with _server(lab, tmp_path_factory, "a2", pg_url, other_host="pyketi-host-a2") as a2:
                since = _log_size(a2)
                td, bd = _in_thread(a2["client"].volume_delete, vb["id"])
                _wait_log(a2, r"step 1/\d+ volume_destroy on \S+ done", 300, since)
                _kill(a2)
                timings["taken over after kill (delete)"] = _wait_taken_over(
                    cb, "delete-volume", 120)
                _assert_after_the_lease(timings["taken over after kill (delete)"])
                timings["finished after kill"] = _wait_no_operations(cb, 600)
                assert cb.volume_list()["volumes"] == []
                _nodes_match_db(lab, cb)

        t0 = time.monotonic()
        _teardown_topology(cb)
        timings["teardown"] = time.monotonic() - t0
    print("two instances, seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    for n in lab.nodes:
        assert leftovers(lab, n.ip) == {}, n.name
