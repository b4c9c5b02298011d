"""Kill -9 at every step, on real nodes (issue 12).

A pyketi server (ssh executor, SQLite, background cleaner on) drives the three VMs.
For a kill point ``kind:step:when`` it is started with the opt-in hook
``PYKETI_TEST_KILL_AT`` (``pyketi.operations.killpoint``), the operation is asked
for, and the server SIGKILLs itself at that point (``during``: a few seconds into
the step, while its remote commands run; ``end``: the nodes did the step, nothing
of it recorded).  The next server starts on the same database, its background
cleaner undoes or finishes the operation, and then the database, ``gluster volume
info`` and LVM/mounts/fstab/brick directories on every node must agree: no leaked
LV, thin pool, mount, fstab line, brick directory or gluster volume, none missing,
and each device's free space in the database equal to LVM's.

The default lab run (``PYKETI_LAB=1``) kills once per step of a volume create,
expand and delete and of a device add and delete (``during`` and ``end``
alternating, ``DEFAULT_KINDS``).
``PYKETI_LAB_FULL=1`` runs the matrix: for create, expand, delete, device add,
device delete and device remove, the middle and the end of every step, stepping
through the steps until an operation ends without being killed (so a new step is
covered by itself), and writes a summary (trials per step, recovered / leaked, time
to recover) to ``$PYKETI_LAB_KILL_REPORT`` if set; ``PYKETI_LAB_KILL_KINDS=a,b`` runs
only those kinds.  Device remove (``evict-brick``: state ``failed`` moves the
device's brick to the node that holds none of its volume) needs a 4th node: it is
in the matrix with ``PYKETI_LAB_NODES=4``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import time
from pathlib import Path

import pytest

from labcheck import leftovers
from labserver import lab_server
from pyketi.operations.killpoint import ENV_VAR

pytestmark = pytest.mark.lab

FULL = os.environ.get("PYKETI_LAB_FULL") == "1"
DURING_SECONDS = 3.0
RECOVER_TIMEOUT = 600
# the default run: one kill per step, ``during`` and ``end`` alternating from the first
# point given here (create: end of bricks_create, middle of volume_create; expand: middle
# of bricks_create, right after the add-brick; delete: middle of the gluster stop/delete,
# end of bricks_destroy; device add / delete: end of their one step, which takes a second
# or two); a step added to a kind gets the next point by itself
DEFAULT_KINDS = [("create-volume", "end"), ("expand-volume", "during"),
                 ("delete-volume", "during"), ("add-device", "end"), ("delete-device", "end")]
EVICT = "evict-brick"  # device remove: needs a 4th node
MATRIX_KINDS = [k for k in os.environ.get("PYKETI_LAB_KILL_KINDS", "").split(",") if k] or [
    "create-volume", "expand-volume", "delete-volume", "add-device", "delete-device", EVICT]
KILLED = re.compile(r"at the (start|middle|end) of step (\d+)/(\d+) (\w+) of operation "
                    r"([0-9a-f]{32}) \(([\w-]+)\)")
SERVER = dict(disable_background_cleaner=False, start_time_background_cleaner=1,
              operation_lease_seconds=10)


# -- what the nodes hold -----------------------------------------------------------------

_STATE = r"""
echo '##lvs'; lvs -a --noheadings --units k --nosuffix -o vg_name,lv_name,lv_size 2>/dev/null
echo '##vgs'; vgs --noheadings --units k --nosuffix -o vg_name,vg_size,vg_free 2>/dev/null
echo '##mounts'; awk '$2 ~ "^/var/lib/heketi/mounts/" {print $2}' /proc/mounts
echo '##fstab'; grep -o 'brick_[0-9a-f]*' /etc/fstab
echo '##dirs'; ls -d /var/lib/heketi/mounts/vg_*/brick_* 2>/dev/null
echo '##end'
"""


def node_state(lab, ip: str) -> dict[str, list[list[str]]]:
    out = lab.ssh(ip, _STATE, timeout=300).stdout
    found: dict[str, list[list[str]]] = {}
    section = None
    for line in out.splitlines():
        if line.startswith("##"):
            section = line[2:]
            found.setdefault(section, [])
        elif section and line.strip():
            found[section].append(line.split())
    return found


def gluster_volumes(lab, ip: str) -> dict[str, set[str]]:
    """Volume name -> its bricks (``host:path``), from ``gluster volume info``."""
    out = lab.ssh(ip, "gluster --mode=script volume info all", timeout=300).stdout
    volumes: dict[str, set[str]] = {}
    name = None
    for line in out.splitlines():
        if line.startswith("Volume Name:"):
            name = line.split(":", 1)[1].strip()
            volumes[name] = set()
        elif name and re.match(r"Brick\d+:", line):
            volumes[name].add(line.split(":", 1)[1].strip())
    return volumes


def assert_db_matches_nodes(lab, c) -> None:
    """The database, gluster and LVM on every node agree (see the module docstring)."""
    dump = c.db_dump()
    assert c.db_check()["totalinconsistencies"] == 0
    nodes = {nid: n["Info"]["hostnames"] for nid, n in dump["nodeentries"].items()}
    bricks = [b for b in dump["brickentries"].values()]
    volumes = {v["Info"]["id"]: v["Info"]["name"] for v in dump["volumeentries"].values()}
    problems: list[str] = []

    # gluster: the same volumes, with the same bricks
    gluster = gluster_volumes(lab, lab.nodes[0].ip)
    want = {name: {f"{nodes[b['Info']['node']]['storage'][0]}:{b['Info']['path']}"
                   for b in bricks if b["Info"]["volume"] == vid}
            for vid, name in volumes.items()}
    if gluster != want:
        problems.append(f"gluster volumes {gluster} != database {want}")

    for nid, names in nodes.items():
        ip = names["manage"][0]
        mine = [b for b in bricks if b["Info"]["node"] == nid]
        state = node_state(lab, ip)
        lvs = {(vg, lv): float(size) for vg, lv, size in state["lvs"] if vg.startswith("vg_")}
        brick_lvs = {lv for _, lv in lvs if lv.startswith("brick_")}
        pools = {lv for _, lv in lvs if lv.startswith("tp_")}
        expect_lvs = {f"brick_{b['Info']['id']}" for b in mine}
        expect_pools = {b["LvmThinPool"] for b in mine}
        mounts = {m[0] for m in state["mounts"]}
        expect_mounts = {posixpath.dirname(b["Info"]["path"]) for b in mine}
        fstab = {f[0] for f in state["fstab"]}
        dirs = {d[0] for d in state["dirs"]}
        for what, got, exp in (("brick LVs", brick_lvs, expect_lvs),
                               ("thin pools", pools, expect_pools),
                               ("mounts", mounts, expect_mounts),
                               ("fstab lines", fstab, expect_lvs),
                               ("brick directories", dirs, expect_mounts)):
            if got != exp:
                problems.append(f"{ip}: {what} on the node {sorted(got)} != database "
                                f"{sorted(exp)} (leaked: {sorted(got - exp)}, "
                                f"missing: {sorted(exp - got)})")
        vgs = {vg: (float(size), float(free)) for vg, size, free in state["vgs"]
               if vg.startswith("vg_")}
        devices = {did: d for did, d in dump["deviceentries"].items() if d["NodeId"] == nid}
        if set(vgs) != {f"vg_{did}" for did in devices}:
            problems.append(f"{ip}: VGs {sorted(vgs)} != devices {sorted(devices)}")
        for did, dev in devices.items():
            if f"vg_{did}" not in vgs:
                continue
            size, free = vgs[f"vg_{did}"]
            # LVM keeps one spare metadata LV per VG with thin pools (lvol0_pmspare, the
            # size of the largest pool metadata): not a brick's, not in heketi's accounting
            spare = sum(s for (vg, lv), s in lvs.items()
                        if vg == f"vg_{did}" and lv == "[lvol0_pmspare]")
            storage = dev["Info"]["storage"]
            if (storage["total"], storage["free"]) != (int(size), int(free + spare)):
                problems.append(f"{ip}: device {did} in the database total/free "
                                f"{storage['total']}/{storage['free']} KiB, LVM "
                                f"{int(size)}/{int(free)} KiB + spare metadata {int(spare)}")
    assert not problems, "\n".join(problems)


# -- the kill trials -----------------------------------------------------------------------

class Chain:
    """Servers started one after the other on one database; each may be armed."""

    def __init__(self, lab, d: Path):
        self.lab, self.d, self.n = lab, d, 0
        self.server: dict | None = None
        self.killed: dict | None = None   # the last kill's record, until checked
        self._cm = None

    def start(self, point: str | None) -> dict:
        self.stop()
        self.n += 1
        self._cm = lab_server(self.lab, self.d, env={ENV_VAR: point} if point else None,
                              log_name=f"server-{self.n}.log", **SERVER)
        self.server = self._cm.__enter__()
        return self.server

    def stop(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None

    @property
    def c(self):
        return self.server["client"]


def _wait_recovered(c, timeout: float = RECOVER_TIMEOUT) -> None:
    t0 = time.monotonic()
    while True:
        info = c.operations_info()
        if info["total"] == 0:
            return
        assert time.monotonic() - t0 < timeout, f"operations still pending: {info}"
        time.sleep(3)


class Topology:
    def __init__(self):
        self.cluster = ""
        self.nodes: list[str] = []
        self.volume: str | None = None      # for expand / delete trials


def _setup(lab, c, topo: Topology) -> None:
    topo.cluster = c.cluster_create()["id"]
    for i, n in enumerate(lab.nodes[:4]):
        node = c.node_add(cluster=topo.cluster, zone=i + 1, manage=n.ip, storage=n.ip)
        c.device_add(node=node["id"], name=n.devices[0])
        topo.nodes.append(node["id"])


def _vdc(lab, c, topo: Topology) -> str | None:
    return next((d["id"] for d in c.node_info(topo.nodes[0])["devices"]
                 if d["name"] == lab.nodes[0].devices[1]), None)


def _prepare(lab, c, kind: str, topo: Topology) -> tuple[str, str, dict | None]:
    """Preconditions of ``kind`` (with the armed server), then its request."""
    if kind == "create-volume":
        return "POST", "/volumes", {"size": 1, "durability": {
            "type": "replicate", "replicate": {"replica": 3}}}
    if kind in ("expand-volume", "delete-volume"):
        if topo.volume not in c.volume_list()["volumes"]:  # none yet, or deleted
            topo.volume = c.volume_create(size=1, durability="replicate", replica=3)["id"]
        if kind == "expand-volume":
            return "POST", f"/volumes/{topo.volume}/expand", {"expand_size": 1}
        return "DELETE", f"/volumes/{topo.volume}", None
    if kind == "add-device":
        return "POST", "/devices", {"node": topo.nodes[0], "name": lab.nodes[0].devices[1]}
    if kind == "delete-device":
        if _vdc(lab, c, topo) is None:
            c.device_add(node=topo.nodes[0], name=lab.nodes[0].devices[1])
        spare = _vdc(lab, c, topo)
        if c.device_info(spare)["state"] == "online":
            c.device_set_state(spare, "offline")
        if c.device_info(spare)["state"] == "offline":
            c.device_set_state(spare, "failed")
        return "DELETE", f"/devices/{spare}", None
    if kind == EVICT:
        # one replica-3 volume and no other, every device online; then the device of the
        # volume's first brick is removed (its brick goes to the node holding none)
        volumes = c.volume_list()["volumes"]
        if topo.volume not in volumes or len(c.volume_info(topo.volume)["bricks"]) != 3:
            for vid in volumes:
                c.volume_delete(vid)
            topo.volume = c.volume_create(size=1, durability="replicate", replica=3)["id"]
        for nid in topo.nodes:
            for d in c.node_info(nid)["devices"]:
                if d["state"] == "failed":
                    c.device_set_state(d["id"], "offline")
                if c.device_info(d["id"])["state"] == "offline":
                    c.device_set_state(d["id"], "online")
        device = c.volume_info(topo.volume)["bricks"][0]["device"]
        c.device_set_state(device, "offline")
        return "POST", f"/devices/{device}/state", {"state": "failed"}
    raise AssertionError(kind)


def kill_trial(lab, chain: Chain, topo: Topology, kind: str, step: int, when: str,
               results: list[dict]) -> bool:
    """One trial; False when the operation ended without being killed (no such step)."""
    point = f"{kind}:{step}:{when}" + (f":{DURING_SECONDS}" if when == "during" else "")
    restart = time.monotonic()
    server = chain.start(point)
    recovered(lab, chain, restart)
    method, path, body = _prepare(lab, chain.c, kind, topo)
    t0 = time.monotonic()
    reply = None
    try:
        reply = chain.c.send(method, path, body)
    except Exception:  # noqa: BLE001 - killed before it answered
        assert server["proc"].poll() is not None or server["proc"].wait(30) is not None
    assert reply is None or reply.status == 202, (reply.status, reply.text())
    proc = server["proc"]
    while proc.poll() is None:
        try:
            ended = chain.c.operations_info()["total"] == 0
        except Exception:  # noqa: BLE001 - it is dying
            ended = False
        if ended:
            time.sleep(2)
            if proc.poll() is None:  # the operation ended and nobody died: no such step
                return False
        assert time.monotonic() - t0 < 900, f"{point}: neither killed nor done"
        time.sleep(1)
    assert proc.returncode == -9, (proc.returncode, server["log"].read_text()[-3000:])
    killed = KILLED.search(server["log"].read_text())
    assert killed and killed.group(6) == kind, server["log"].read_text()[-3000:]
    results.append({"kind": kind, "step": int(killed.group(2)), "steps": int(killed.group(3)),
                    "name": killed.group(4), "when": killed.group(1),
                    "killed_after_s": round(time.monotonic() - t0, 1), "leaked": True})
    chain.killed = results[-1]
    print(f"killed: {results[-1]}")
    return True


def recovered(lab, chain: Chain, restart: float) -> None:
    """The operation of the last kill, taken over by this server's cleaner: wait, check.
    ``recover_s``: from the restart to no operation left."""
    if chain.killed is None:
        return
    _wait_recovered(chain.c)
    chain.killed["recover_s"] = round(time.monotonic() - restart, 1)
    assert_db_matches_nodes(lab, chain.c)
    chain.killed["leaked"] = False
    chain.killed = None


def finish(lab, chain: Chain, topo: Topology, results: list[dict]) -> None:
    """Recover the last kill, check, then tear the topology down: the lab ends empty."""
    restart = time.monotonic()
    chain.start(None)
    recovered(lab, chain, restart)
    c = chain.c
    for vid in c.volume_list()["volumes"]:
        c.volume_delete(vid)
    for nid in topo.nodes:
        for d in c.node_info(nid)["devices"]:
            if d["state"] == "online":
                c.device_set_state(d["id"], "offline")
            if c.device_info(d["id"])["state"] == "offline":
                c.device_set_state(d["id"], "failed")
            c.device_delete(d["id"])
        c.node_set_state(nid, "offline")
        c.node_set_state(nid, "failed")
        c.node_delete(nid)
    c.cluster_delete(topo.cluster)
    chain.stop()
    for n in lab.nodes:
        assert leftovers(lab, n.ip) == {}, n.name


def _report(results: list[dict]) -> None:
    path = os.environ.get("PYKETI_LAB_KILL_REPORT")
    if path:
        Path(path).write_text(json.dumps(results, indent=1) + "\n")


def _alternate(first: str, step: int) -> str:
    other = "end" if first == "during" else "during"
    return first if step % 2 else other


def test_kill_in_create_expand_delete_then_cleaner_leaves_nodes_and_db_agreeing(
        lab, tmp_path_factory):
    """The default lab run: one kill per step of volume create, expand and delete and
    device add and delete (``DEFAULT_KINDS``), stepping on until an operation ends
    without a kill."""
    chain, topo, results = Chain(lab, tmp_path_factory.mktemp("pyketi-lab-kill")), Topology(), []
    try:
        chain.start(None)
        _setup(lab, chain.c, topo)
        for kind, first in DEFAULT_KINDS:
            step = 1
            while kill_trial(lab, chain, topo, kind, step, _alternate(first, step), results):
                step += 1
                assert step < 20, "runaway"
            assert any(r["kind"] == kind and r["step"] == r["steps"] for r in results), kind
        finish(lab, chain, topo, results)
    finally:
        chain.stop()
        _report(results)
        print(json.dumps(results, indent=1))


@pytest.mark.skipif(not FULL, reason="the every-step kill matrix: PYKETI_LAB_FULL=1")
def test_kill_at_every_step_matrix(lab, tmp_path_factory):
    chain, topo, results = Chain(lab, tmp_path_factory.mktemp("pyketi-lab-kill-all")), \
        Topology(), []
    try:
        kinds = [k for k in MATRIX_KINDS if k != EVICT or len(lab.nodes) >= 4]
        if not kinds:
            pytest.skip(f"{EVICT} needs 4 lab nodes (PYKETI_LAB_NODES=4)")
        chain.start(None)
        _setup(lab, chain.c, topo)
        for kind in kinds:
            step = 1
            while (kill_trial(lab, chain, topo, kind, step, "during", results)
                   and kill_trial(lab, chain, topo, kind, step, "end", results)):
                step += 1
                assert step < 20, "runaway"
            assert any(r["kind"] == kind and r["step"] == r["steps"] for r in results), kind
        finish(lab, chain, topo, results)
    finally:
        chain.stop()
        _report(results)
        print(json.dumps(results, indent=1))


# -- wall-clock kills (the six rounds) -------------------------------------------

WALLCLOCK = [(k, float(s)) for k, s in (item.split(":") for item in os.environ.get(
    "PYKETI_LAB_WALLCLOCK", "expand-volume:33,delete-volume:22").split(",") if item)]


def wallclock_trial(lab, chain: Chain, topo: Topology, kind: str, seconds: float,
                    results: list[dict]) -> None:
    """No hook: the server is SIGKILLed from outside ``seconds`` after the request, as an
    operator would; the next server (same SQLite database) is asked to clean up every
    few seconds (``POST /operations/pending/cleanup``) until no operation is left, and
    the database and the nodes must then agree."""
    server = chain.start(None)
    method, path, body = _prepare(lab, chain.c, kind, topo)
    reply = chain.c.send(method, path, body)
    assert reply.status == 202, (reply.status, reply.text())
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and server["proc"].poll() is None:
        time.sleep(0.2)
    server["proc"].kill()
    server["proc"].wait(30)
    log = server["log"].read_text()
    op = re.findall(r"operation ([0-9a-f]{32}) accepted", log)[-1]  # the killed one
    done = re.findall(rf"operation {op} step \d+/\d+ \w+ on \S+ done", log)
    trial = {"kind": kind, "killed_after_s": round(time.monotonic() - t0, 1),
             "steps_done": len(done), "leaked": True,
             "ended_before_kill": bool(re.search(rf"operation {op} \([\w-]+\) "
                                                 r"(finished|rolled back) in", log))}
    results.append(trial)
    restart = time.monotonic()
    c = chain.start(None)["client"]
    while c.operations_info()["total"]:
        assert time.monotonic() - restart < RECOVER_TIMEOUT, (
            f"{trial}: still pending after {RECOVER_TIMEOUT} s: "
            f"{c.send('GET', '/operations/pending').text()}")
        c.operations_cleanup()
        time.sleep(5)
    trial["recover_s"] = round(time.monotonic() - restart, 1)
    assert_db_matches_nodes(lab, c)
    trial["leaked"] = False
    print(f"wall-clock kill: {trial}")


@pytest.mark.skipif(not FULL and "PYKETI_LAB_WALLCLOCK" not in os.environ,
                    reason="wall-clock kills: PYKETI_LAB_FULL=1 or PYKETI_LAB_WALLCLOCK=kind:s,..")
def test_wall_clock_kill_then_cleanup_ends_the_operation(lab, tmp_path_factory):
    """kill -9 from outside N s into an expand and a delete of a replica-3 volume (the
    issue: 33 s and 22 s left the operation ``failed`` 300 s after the restart)."""
    chain, topo, results = Chain(lab, tmp_path_factory.mktemp("pyketi-lab-wallclock")), \
        Topology(), []
    try:
        chain.start(None)
        _setup(lab, chain.c, topo)
        for kind, seconds in WALLCLOCK:
            wallclock_trial(lab, chain, topo, kind, seconds, results)
        finish(lab, chain, topo, results)
    finally:
        chain.stop()
        print(json.dumps(results, indent=1))
