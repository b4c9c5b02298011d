"""Drift between the database and the nodes, and the repair plan (pure: no I/O).

Inputs are plain snapshots: the database's volumes and bricks (``DbVolume``,
``DbBrick``), what each node holds (``NodeInventory``: LVs and thin pools of
``vg_*`` VGs, brick mounts, fstab lines, brick directories) and the gluster
volumes each cluster reports.  ``plan`` compares them and returns one
``Finding`` per difference, with the action a repair would take:

* ``volume-not-in-gluster``: a volume deleted by hand in gluster
  -> ``forget-volume`` (destroy its bricks on the nodes, drop it from the database);
* ``brick-lv-missing``: a brick LV removed by hand
  -> ``recreate-brick`` (clean the brick's leftovers, create it again, ``reset-brick``);
* ``brick-not-in-db``: a brick gluster lists for a database volume that the
  database lacks -> ``adopt-brick`` (add it, sizes from LVM) when it is a
  pyketi brick on a known device, else nothing;
* ``leftover-brick``: LV, thin pool, mount, fstab line or brick directory with
  no database object and in no gluster volume (a failed operation)
  -> ``destroy-leftover``;
* ``volume-not-in-db``, ``brick-not-in-gluster``, ``node-unreachable``:
  reported, no action (a human decides).

Objects of a pending operation are never touched: the operation's own undo
owns them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MOUNT_ROOT = "/var/lib/heketi/mounts"
_ID = r"[0-9a-fA-F]{32}"
MOUNT_RE = re.compile(rf"^{MOUNT_ROOT}/vg_({_ID})/brick_({_ID})$")
BRICK_PATH_RE = re.compile(rf"^{MOUNT_ROOT}/vg_({_ID})/brick_({_ID})/brick$")
LV_RE = re.compile(rf"^(brick|tp)_({_ID})$")
NO_ACTION = "none"


@dataclass(frozen=True)
class DbBrick:
    id: str
    volume_id: str
    host: str        # manage hostname of its node
    storage: str     # storage hostname of its node
    device_id: str
    path: str
    lv: str          # LV name on the node (brick_<id> unless a clone)
    pool: str        # thin pool name
    pending: bool = False

    @property
    def spec(self) -> str:
        return f"{self.storage}:{self.path}"


@dataclass(frozen=True)
class DbVolume:
    id: str
    name: str
    cluster_id: str
    bricks: tuple[DbBrick, ...] = ()
    pending: bool = False


@dataclass(frozen=True)
class LvInfo:
    pool: str = ""          # thin pool of a thin LV, "" for a pool itself
    size_kib: int = 0
    metadata_kib: int = 0


@dataclass
class NodeInventory:
    """What one node holds under pyketi's names."""

    host: str
    cluster_id: str = ""
    storage: str = ""
    lvs: dict[tuple[str, str], LvInfo] = field(default_factory=dict)  # (vg, lv) -> info
    mounts: set[str] = field(default_factory=set)   # brick mount points mounted
    fstab: set[str] = field(default_factory=set)    # brick mount points in fstab
    dirs: set[str] = field(default_factory=set)     # brick mount point directories
    error: str = ""                                  # set when the node did not answer
    devices: set[str] = field(default_factory=set)  # device ids the database has here


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str     # what differs, for people
    action: str      # what a repair does (NO_ACTION: nothing)
    host: str = ""
    data: tuple[tuple[str, str], ...] = ()  # ids the repair needs

    @property
    def args(self) -> dict[str, str]:
        return dict(self.data)

    def line(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"{self.kind}{where}: {self.subject} -> {self.action}"


def plan(volumes: list[DbVolume], nodes: list[NodeInventory],
         gluster: dict[str, dict[str, list[str]] | None],
         known_bricks: set[str] = frozenset()) -> list[Finding]:
    """Every difference, in a stable order.

    ``gluster``: cluster id -> {volume name: ["storage:/path", ...]}, or None
    when no node of the cluster answered (its volumes are then not judged).
    ``known_bricks``: brick ids the database holds outside ``volumes``
    (bricks of pending operations), never leftovers.
    """
    findings: list[Finding] = []
    by_host = {n.host: n for n in nodes}
    for node in nodes:
        if node.error:
            findings.append(Finding("node-unreachable", node.error, NO_ACTION, node.host))
    db_ids = set(known_bricks)
    db_lvs: set[tuple[str, str, str]] = set()
    for vol in volumes:
        for b in vol.bricks:
            db_ids.add(b.id)
            db_lvs.add((b.host, f"vg_{b.device_id}", b.lv))
            db_lvs.add((b.host, f"vg_{b.device_id}", b.pool))
    in_gluster: set[str] = set()
    for view in gluster.values():
        for specs in (view or {}).values():
            in_gluster.update(specs)

    for vol in sorted(volumes, key=lambda v: (v.cluster_id, v.name, v.id)):
        view = gluster.get(vol.cluster_id)
        if vol.pending or view is None:
            continue
        if vol.name not in view:
            findings.append(Finding(
                "volume-not-in-gluster", f"volume {vol.name} ({vol.id}) is in the database, "
                "not in gluster", "forget-volume: destroy its bricks on the nodes and remove "
                "it from the database", data=(("volume", vol.id),)))
            continue
        specs = view[vol.name]
        for b in sorted(vol.bricks, key=lambda b: b.spec):
            node = by_host.get(b.host)
            if b.pending:
                continue
            if b.spec not in specs:
                findings.append(Finding(
                    "brick-not-in-gluster", f"brick {b.spec} of volume {vol.name} is in the "
                    "database, not in gluster", NO_ACTION, b.host, (("brick", b.id),)))
                continue
            if node is None or node.error:
                continue
            if (f"vg_{b.device_id}", b.lv) not in node.lvs:
                findings.append(Finding(
                    "brick-lv-missing", f"LV vg_{b.device_id}/{b.lv} of brick {b.spec} "
                    f"(volume {vol.name}) is gone", "recreate-brick: clean up, create the "
                    "brick again, gluster volume reset-brick ... commit force",
                    b.host, (("brick", b.id),)))
        db_specs = {b.spec for b in vol.bricks}
        for index, spec in enumerate(specs):
            if spec not in db_specs:
                findings.append(_unknown_brick(vol, spec, index, nodes))

    for cluster_id, view in sorted(gluster.items()):
        names = {v.name for v in volumes if v.cluster_id == cluster_id}
        for name in sorted(set(view or {}) - names):
            findings.append(Finding("volume-not-in-db", f"gluster volume {name} (cluster "
                                    f"{cluster_id}) is not in the database", NO_ACTION))

    for node in sorted(nodes, key=lambda n: n.host):
        if node.error:
            continue
        findings.extend(_leftovers(node, db_ids, db_lvs, in_gluster))
    return findings


def _unknown_brick(vol: DbVolume, spec: str, index: int,
                   nodes: list[NodeInventory]) -> Finding:
    storage, _, path = spec.partition(":")
    node = next((n for n in nodes if n.storage == storage and n.cluster_id == vol.cluster_id),
                None)
    m = BRICK_PATH_RE.match(path)
    subject = f"brick {spec} of volume {vol.name} is in gluster, not in the database"
    if node is None or node.error or m is None or m.group(1) not in node.devices:
        return Finding("brick-not-in-db", subject, NO_ACTION, node.host if node else "")
    device_id, brick_id = m.groups()
    lv = node.lvs.get((f"vg_{device_id}", f"brick_{brick_id}"))
    pool = node.lvs.get((f"vg_{device_id}", f"tp_{brick_id}"))
    if lv is None or pool is None:
        return Finding("brick-not-in-db", subject + " (its LV is missing too)", NO_ACTION,
                       node.host)
    return Finding("brick-not-in-db", subject, "adopt-brick: add it to the database "
                   "(sizes from LVM)", node.host,
                   (("volume", vol.id), ("spec", spec), ("index", str(index)),
                    ("device", device_id),
                    ("brick", brick_id), ("size", str(lv.size_kib)),
                    ("tp_size", str(pool.size_kib)), ("metadata", str(pool.metadata_kib))))


def _leftovers(node: NodeInventory, db_ids: set[str], db_lvs: set[tuple[str, str, str]],
               in_gluster: set[str]) -> list[Finding]:
    """Per (device, brick id): what is on the node with no database object."""
    pieces: dict[tuple[str, str], list[str]] = {}
    for (vg, lv) in node.lvs:
        m = LV_RE.match(lv)
        if not vg.startswith("vg_") or m is None or (node.host, vg, lv) in db_lvs:
            continue
        kind = "LV" if m.group(1) == "brick" else "thin pool"
        pieces.setdefault((vg[3:], m.group(2)), []).append(f"{kind} {vg}/{lv}")
    for label, paths in (("mount", node.mounts), ("fstab line", node.fstab),
                         ("brick dir", node.dirs)):
        for path in paths:
            m = MOUNT_RE.match(path)
            if m is not None:
                pieces.setdefault(m.groups(), []).append(f"{label} {path}")
    found = []
    for (device_id, brick_id), what in sorted(pieces.items()):
        mount = f"{MOUNT_ROOT}/vg_{device_id}/brick_{brick_id}"
        if brick_id in db_ids or any(spec.endswith(":" + mount + "/brick")
                                     for spec in in_gluster):
            continue
        found.append(Finding("leftover-brick", f"{', '.join(sorted(what))} belong to no "
                             "database object", "destroy-leftover: umount, remove fstab line, "
                             "LV, thin pool and directory", node.host,
                             (("device", device_id), ("brick", brick_id))))
    return found


def describe(findings: list[Finding]) -> list[str]:
    return [f.line() for f in findings]
