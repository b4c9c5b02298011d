"""The fake node state behind ``MockExecutor``: what each storage node holds.

No heketi counterpart (heketi's ``executors/mockexec/mock.go`` keeps no
state); this lets tests check "state on the node" after API calls, and - with
a state file - after a server process was killed.

Shape (JSON-serialisable, see ``MockState.snapshot``)::

    {"version": 1,
     "hosts": {<manage host>: {
         "vgs":     {<device id>: {"device": "/dev/sdb", "total_kib": N, "extent_kib": 4096}},
         "pools":   {"vg_<dev>/tp_<id>": {"size_kib": N, "metadata_kib": M}},
         "bricks":  {<brick path>: {"id", "device_id", "vg", "lv", "tp", "mount",
                                    "size_kib", "gid", "arbiter", "storage"}},
         "volumes": {<name>: {"id", "gluster_id", "durability", "replica", "arbiter",
                              "disperse_data", "disperse_redundancy",
                              "bricks": ["host:/path", ...], "options": {k: v},
                              "started": bool}},
         "peers":   [<storage host probed from here>],
         "storage": [<storage hostnames seen for this node's bricks>]}}}

A gluster volume is stored under the host its ``volume create`` ran on; it is
visible from every host of the same trusted pool.  Pools are the connected
parts of the graph linking a host to its peers, to its own storage names and
to the brick hosts of its volumes (two heketi clusters never share a node, so
two clusters may hold volumes of the same name).

``shared`` (``mockexec.shared``): several server processes use one state file (the
same fake nodes, e.g. two instances on one PostgreSQL); each executor call then runs
under an exclusive ``flock`` of ``<state_file>.lock`` on a fresh read of the file
(a call has no ``await`` inside, so the lock is never held across a suspension).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator

STATE_VERSION = 1


def empty_host() -> dict[str, Any]:
    return {"vgs": {}, "pools": {}, "bricks": {}, "volumes": {}, "peers": [], "storage": []}


def brick_host(spec: str) -> str:
    """Host part of a ``host:/path`` brick spec."""
    return spec.split(":/", 1)[0]


class MockState:
    """In-memory node state with optional atomic JSON persistence."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None):
        self.path = Path(state_file) if state_file else None
        self.data: dict[str, Any] = {"version": STATE_VERSION, "hosts": {}}
        if self.path is not None and self.path.exists():
            self.data = self.load(self.path)
        # the pool graph, rebuilt after a change (perf: building it reads every brick of
        # every volume, and every executor call asked for it)
        self._adj: dict[str, set[str]] | None = None

    # -- persistence ------------------------------------------------------
    @staticmethod
    def load(path: str | os.PathLike[str]) -> dict[str, Any]:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("version") != STATE_VERSION or not isinstance(data.get("hosts"), dict):
            raise ValueError(f"{path}: not a pyketi mock state file")
        for rec in data["hosts"].values():
            for key, value in empty_host().items():
                rec.setdefault(key, value)
        return data

    def save(self, links: Iterable[tuple[str, str]] | None = None) -> None:
        """Record a change (every change ends with a save): the pool graph is rebuilt on
        next use - or, when the change only added ``links`` (host pairs, maybe none) to
        it, updated in place; with a state file, write it atomically (temp file +
        os.replace)."""
        if links is None:
            self._adj = None
        elif self._adj is not None:
            for a, b in links:
                self._adj[a].add(b)
                self._adj[b].add(a)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One call of a shared state file: lock it against the other processes and read
        it afresh (the call's ``save`` writes it before the lock is released)."""
        assert self.path is not None, "a shared mock state needs a state file"
        with open(f"{self.path}.lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            if self.path.exists():
                self.data = self.load(self.path)
                self._adj = None
            yield

    # -- access -----------------------------------------------------------
    @property
    def hosts(self) -> dict[str, dict[str, Any]]:
        return self.data["hosts"]

    def host(self, name: str) -> dict[str, Any]:
        if name not in self.hosts:
            self._adj = None
        return self.hosts.setdefault(name, empty_host())

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    # -- trusted pools ----------------------------------------------------
    def _graph(self) -> dict[str, set[str]]:
        if self._adj is None:
            self._adj = self._build_graph()
        return self._adj

    def _build_graph(self) -> dict[str, set[str]]:
        adj: dict[str, set[str]] = defaultdict(set)

        def link(a: str, b: str) -> None:
            adj[a].add(b)
            adj[b].add(a)

        for name, rec in self.hosts.items():
            adj[name]  # noqa: B018 - every host is a node
            for other in rec["peers"] + rec["storage"]:
                link(name, other)
            for vol in rec["volumes"].values():
                for spec in vol["bricks"]:
                    link(name, brick_host(spec))
        return adj

    def pool_of(self, host: str, extra: Iterable[str] = ()) -> set[str]:
        """Names in the same trusted pool as ``host`` (and ``extra``)."""
        adj = self._graph()
        seen: set[str] = set()
        todo = [host, *extra]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(adj.get(name, ()))
        return seen

    def find_volume(self, host: str, name: str,
                    extra: Iterable[str] = ()) -> tuple[str, dict[str, Any]] | None:
        """(anchor host, record) of volume ``name`` as seen from ``host``.

        A host linked to nothing yet (a node without bricks, never a prober)
        sees a volume whose name is unique among all pools.
        """
        extra = tuple(extra)
        scope = self.pool_of(host, extra)
        found = [(h, rec["volumes"][name]) for h, rec in self.hosts.items()
                 if h in scope and name in rec["volumes"]]
        if not found and not self._graph().get(host) and not extra:
            found = [(h, rec["volumes"][name]) for h, rec in self.hosts.items()
                     if name in rec["volumes"]]
            if len(found) > 1:
                return None
        return found[0] if found else None

    def pool_volumes(self, scope: set[str]) -> dict[str, dict[str, Any]]:
        return {name: vol for h, rec in self.hosts.items() if h in scope
                for name, vol in rec["volumes"].items()}

    def hosts_of_storage(self, storage: str) -> list[str]:
        """Manage hosts known under ``storage`` (or named so)."""
        return [h for h, rec in self.hosts.items() if h == storage or storage in rec["storage"]]

    def find_brick(self, spec: str) -> tuple[str, dict[str, Any]] | None:
        """(manage host, brick record) of a ``host:/path`` brick spec."""
        storage, path = brick_host(spec), spec[len(brick_host(spec)) + 1:]
        for h in self.hosts_of_storage(storage):
            brick = self.hosts[h]["bricks"].get(path)
            if brick is not None:
                return h, brick
        return None

    # -- LVM accounting ---------------------------------------------------
    @staticmethod
    def round_up(kib: int, extent: int) -> int:
        return -(-kib // extent) * extent

    def vg_used(self, host: str, vg: str) -> int:
        """KiB allocated in ``vg``: thin pools plus their metadata, in whole extents."""
        rec = self.host(host)
        device_id = vg[len("vg_"):]
        extent = rec["vgs"].get(device_id, {}).get("extent_kib", 4096)
        prefix = vg + "/"
        return sum(self.round_up(p["size_kib"], extent) + self.round_up(p["metadata_kib"], extent)
                   for key, p in rec["pools"].items() if key.startswith(prefix))
