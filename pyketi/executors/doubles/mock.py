"""``MockExecutor``: no nodes, every call succeeds like heketi's mock
(``executors/mockexec/mock.go``) - but the effect of each call is kept in a
fake node state (``mock_state.MockState``) that tests can inspect, optionally
persisted to a JSON file after every change.

Like a real node, and unlike heketi's mock:

* creating what exists fails (VG on a used device, brick LV, volume name,
  brick already part of a volume) with the node's error text;
* destroying what is missing succeeds;
* ``down_hosts``: glusterd is not running there (``glusterd_check`` and
  gluster commands run there fail, probing it fails);
* ``unreachable_hosts``: every call on that host raises ``NodeUnreachable``.
* ``heal_entries``: brick ``host:/path`` -> entries ``volume heal info`` reports
  still to heal (0 otherwise); bricks on a down or unreachable host are reported
  as gluster does (``Transport endpoint is not connected``, ``-``).

``strict=True`` also refuses what needs a missing prerequisite (bricks on an
unknown VG, bricks or volumes that do not exist, unmounting a brick of a
started volume).  The default (lenient) mode keeps heketi's "always works"
for those cases, so a server restarted without a state file still runs.

``shared=True`` (with a ``state_file``): the file is the nodes of several server
processes; every call locks and re-reads it (``MockState.exclusive``).
"""

from __future__ import annotations

import collections
import functools
import inspect
import os
import uuid
from typing import Any, Iterable

from pyketi.executors import commands as C
from pyketi.executors import validate as V
from pyketi.executors.base import (BrickInfo, BrickRequest, DeviceInfo, Executor,
                                   ExecutorError, HealBrickInfo, NodeUnreachable,
                                   NothingChanged, VolumeInfo, VolumeRequest)
from pyketi.executors.config import ExecConfig
from pyketi.executors.doubles.mock_state import MockState, brick_host
from pyketi.units import GIB_KIB

DEFAULT_DEVICE_SIZE_GIB = 500
EXTENT_KIB = 4096
GLUSTERD_DOWN = "Connection failed. Please check if gluster daemon is operational."


def env_device_size_gib(env: dict[str, str] | None = None) -> int:
    """``HEKETI_MOCK_DEVICE_SIZE_GB`` or 500."""
    value = (os.environ if env is None else env).get("HEKETI_MOCK_DEVICE_SIZE_GB", "")
    try:
        return int(value) if value else DEFAULT_DEVICE_SIZE_GIB
    except ValueError:
        raise ValueError(f"invalid HEKETI_MOCK_DEVICE_SIZE_GB: {value!r}") from None


class MockExecutor(Executor):
    """Fake executor keeping per-host node state (see module docstring)."""

    def __init__(self, *, device_size_gib: int | None = None,
                 state_file: str | os.PathLike[str] | None = None, strict: bool = False,
                 down_hosts: Iterable[str] = (), unreachable_hosts: Iterable[str] = (),
                 shared: bool = False):
        self.device_size_gib = env_device_size_gib() if device_size_gib is None else device_size_gib
        V.check_int(self.device_size_gib, "device size", minimum=1)
        self.strict = strict
        self.down_hosts: set[str] = set(down_hosts)
        self.unreachable_hosts: set[str] = set(unreachable_hosts)
        self.heal_entries: dict[str, int] = {}
        self._state = MockState(state_file)
        self._cfg = ExecConfig()  # only to validate through the real command builders
        if shared:
            if state_file is None:
                raise ValueError("mockexec.shared needs mockexec.state_file")
            for name, method in vars(MockExecutor).items():
                if inspect.iscoroutinefunction(method) and not name.startswith("_"):
                    setattr(self, name, self._exclusive(getattr(self, name)))

    def _exclusive(self, call):
        @functools.wraps(call)
        async def locked(*args: Any, **kwargs: Any) -> Any:
            with self._state.exclusive():
                return await call(*args, **kwargs)
        return locked

    # -- read helpers for tests --------------------------------------------
    @staticmethod
    def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
        """Read a state file written by a (possibly killed) MockExecutor."""
        return MockState.load(path)

    def state(self) -> dict[str, Any]:
        """Deep copy of the whole node state."""
        return self._state.snapshot()

    def bricks_on(self, host: str) -> dict[str, dict[str, Any]]:
        """Brick path -> brick record on ``host``."""
        return dict(self.state()["hosts"].get(host, {}).get("bricks", {}))

    def vgs_on(self, host: str) -> dict[str, dict[str, Any]]:
        """Device id -> VG record on ``host``."""
        return dict(self.state()["hosts"].get(host, {}).get("vgs", {}))

    def peers_of(self, host: str) -> list[str]:
        return list(self.state()["hosts"].get(host, {}).get("peers", []))

    def volumes(self, host: str | None = None) -> dict[str, dict[str, Any]]:
        """Volume name -> record: those visible from ``host``, or of every pool."""
        snap = MockState(None)
        snap.data = self.state()
        scope = snap.pool_of(host) if host else set(snap.hosts)
        return snap.pool_volumes(scope)

    # -- guards -------------------------------------------------------------
    def _reach(self, host: str) -> dict[str, Any]:
        if host in self.unreachable_hosts:
            raise NodeUnreachable(f"Unable to connect to {host}: connection refused", host)
        return self._state.host(host)

    def _glusterd(self, host: str) -> dict[str, Any]:
        rec = self._reach(host)
        if host in self.down_hosts:
            raise ExecutorError(GLUSTERD_DOWN, host)
        return rec

    def _size_kib(self) -> int:
        return self.device_size_gib * GIB_KIB

    # -- nodes / peers ------------------------------------------------------
    async def glusterd_check(self, host: str) -> None:
        self._reach(host)
        if host in self.down_hosts:
            raise ExecutorError("Process exited with status 3", host)

    async def peer_probe(self, host: str, new_node_storage: str) -> None:
        C.peer_probe(self._cfg, new_node_storage)
        rec = self._glusterd(host)
        if new_node_storage in self.down_hosts | self.unreachable_hosts:
            raise ExecutorError("peer probe: failed: Probe returned with "
                                "Transport endpoint is not connected", host)
        if new_node_storage not in rec["peers"] + rec["storage"] + [host]:
            rec["peers"].append(new_node_storage)
            self._state.save()

    async def peer_detach(self, host: str, node_storage: str) -> None:
        C.peer_detach(self._cfg, node_storage)
        self._glusterd(host)
        for rec in self._state.hosts.values():
            if node_storage in rec["peers"]:
                rec["peers"].remove(node_storage)
        self._state.save()

    # -- devices ------------------------------------------------------------
    async def device_setup(self, host: str, device_name: str, device_id: str,
                           destroy_data: bool = False) -> DeviceInfo:
        C.device_setup(self._cfg, device_name, device_id, destroy_data)
        rec = self._reach(host)
        vgs = rec["vgs"]

        def refuse(reason: str) -> ExecutorError:
            return ExecutorError(f"Initializing device {device_name} failed (already "
                                 f"initialized or contains data?): {reason}", host)

        if device_id in vgs:
            raise refuse(f'A volume group called vg_{device_id} already exists.')
        for other, vg in list(vgs.items()):
            if vg["device"] != device_name:
                continue
            if not destroy_data:
                raise refuse(f'Can\'t initialize physical volume "{device_name}" of '
                             f'volume group "vg_{other}" without -ff')
            if self._pools_on(rec, f"vg_{other}"):
                raise refuse(f"wipefs: error: {device_name}: probing initialization failed: "
                             "Device or resource busy")
            del vgs[other]
        vgs[device_id] = {"device": device_name, "total_kib": self._size_kib(),
                          "extent_kib": EXTENT_KIB}
        self._state.save(links=())
        return self._device_info(host, device_id)

    def _device_info(self, host: str, device_id: str) -> DeviceInfo:
        vg = self._state.host(host)["vgs"].get(device_id)
        total = vg["total_kib"] if vg else self._size_kib()
        used = self._state.vg_used(host, f"vg_{device_id}")
        return DeviceInfo(total=total, free=total - used, used=used, extent_size=EXTENT_KIB)

    @staticmethod
    def _pools_on(rec: dict[str, Any], vg: str) -> list[str]:
        return [key for key in rec["pools"] if key.split("/", 1)[0] == vg]

    async def device_info(self, host: str, device_name: str, device_id: str,
                          pv_uuid: str = "") -> DeviceInfo:
        C.vg_display(self._cfg, device_id)
        rec = self._reach(host)
        if self.strict and device_id not in rec["vgs"]:
            raise ExecutorError(f'Volume group "vg_{device_id}" not found', host)
        return self._device_info(host, device_id)

    async def device_teardown(self, host: str, device_name: str, device_id: str,
                              pv_uuid: str = "", force: bool = False) -> None:
        C.device_teardown(self._cfg, device_name, device_id, force)
        try:
            rec = self._reach(host)
        except NodeUnreachable:
            if force:
                return
            raise
        lvs = self._pools_on(rec, f"vg_{device_id}")
        if lvs:
            if force:
                return  # vgremove failed, errors ignored: the VG stays
            raise ExecutorError(f"Failed to delete device {device_name} with id {device_id} "
                                f'on host {host}: Volume group "vg_{device_id}" still '
                                f"contains {2 * len(lvs)} logical volume(s)", host)
        if rec["vgs"].pop(device_id, None) is not None:
            self._state.save(links=())

    # -- bricks -------------------------------------------------------------
    async def bricks_create(self, host: str, bricks: list[BrickRequest]) -> None:
        for brick in bricks:
            C.brick_create(self._cfg, brick)
        rec = self._reach(host)
        staged_pools: dict[str, dict[str, int]] = {}
        staged_bricks: dict[str, dict[str, Any]] = {}
        staged_vgs: dict[str, dict[str, Any]] = {}
        for b in bricks:  # all or nothing: a failure leaves no brick behind
            vg = rec["vgs"].get(b.device_id) or staged_vgs.get(b.device_id)
            if vg is None:
                if self.strict:
                    raise ExecutorError(f'Volume group "{b.vg}" not found', host)
                vg = staged_vgs[b.device_id] = {"device": "", "total_kib": self._size_kib(),
                                                "extent_kib": EXTENT_KIB}
            pool = f"{b.vg}/{b.thin_pool}"
            if pool in rec["pools"] or pool in staged_pools:
                raise ExecutorError(f'Logical Volume "{b.thin_pool}" already exists in '
                                    f'volume group "{b.vg}"', host)
            if b.brick_path in rec["bricks"] or b.brick_path in staged_bricks:
                raise ExecutorError(f"mkdir: cannot create directory '{b.brick_path}': "
                                    "File exists", host)
            extent = vg["extent_kib"]
            need = (self._state.round_up(b.tp_size_kib, extent)
                    + self._state.round_up(b.pool_metadata_kib, extent))
            used = self._state.vg_used(host, b.vg) + sum(
                self._state.round_up(p["size_kib"], extent)
                + self._state.round_up(p["metadata_kib"], extent)
                for key, p in staged_pools.items() if key.split("/", 1)[0] == b.vg)
            free = vg["total_kib"] - used
            if need > free:
                raise ExecutorError(f'Volume group "{b.vg}" has insufficient free space '
                                    f"({free // extent} extents): {need // extent} required.", host)
            staged_pools[pool] = {"size_kib": b.tp_size_kib, "metadata_kib": b.pool_metadata_kib}
            staged_bricks[b.brick_path] = {
                "id": b.id, "device_id": b.device_id, "vg": b.vg, "lv": b.lv,
                "tp": b.thin_pool, "mount": C.brick_mount(b), "size_kib": b.size_kib,
                "gid": b.gid, "arbiter": b.arbiter, "storage": b.node_storage}
        rec["vgs"].update(staged_vgs)
        rec["pools"].update(staged_pools)
        rec["bricks"].update(staged_bricks)
        added = []
        for b in bricks:
            if b.node_storage and b.node_storage not in rec["storage"]:
                rec["storage"].append(b.node_storage)
                added.append((host, b.node_storage))
        self._state.save(links=added)

    async def bricks_destroy(self, host: str, bricks: list[BrickRequest]) -> list[bool]:
        for brick in bricks:
            C.brick_destroy(self._cfg, brick)
        rec = self._reach(host)
        reclaimed: list[bool] = []
        error: ExecutorError | None = None
        users = collections.Counter(f"{x['vg']}/{x['tp']}" for x in rec["bricks"].values())
        for b in bricks:
            if self.strict and self._in_started_volume(host, b):
                error = error or ExecutorError(f"umount: {C.brick_mount(b)}: target is busy.",
                                               host)
                reclaimed.append(False)
                continue
            gone = rec["bricks"].pop(b.brick_path, None)
            if gone is not None:
                users[f"{gone['vg']}/{gone['tp']}"] -= 1
            pool = f"{b.vg}/{b.thin_pool}"
            in_use = users[pool] > 0
            if not in_use:
                rec["pools"].pop(pool, None)
            reclaimed.append(not in_use)
        self._state.save(links=())
        if error is not None:
            raise error
        return reclaimed

    def _in_started_volume(self, host: str, b: BrickRequest) -> bool:
        storages = set(self._state.host(host)["storage"]) | {host, b.node_storage}
        specs = {f"{s}:{b.brick_path}" for s in storages}
        return any(v["started"] and specs & set(v["bricks"])
                   for v in self._state.pool_volumes(self._state.pool_of(host)).values())

    # -- volumes ------------------------------------------------------------
    def _check_bricks_free(self, host: str, name: str, verb: str,
                           specs: list[str]) -> None:
        scope = self._state.pool_of(host, [brick_host(s) for s in specs])
        used = {s for v in self._state.pool_volumes(scope).values() for s in v["bricks"]}
        for spec in specs:
            bhost = brick_host(spec)
            if bhost in self.down_hosts:
                raise ExecutorError(f"volume {verb}: {name}: failed: Host {bhost} "
                                    "is not in 'Peer in Cluster' state", host)
            if spec in used:
                raise ExecutorError(f"volume {verb}: {name}: failed: "
                                    f"{spec[len(bhost) + 1:]} is already part of a volume", host)
            if self.strict and self._state.find_brick(spec) is None:
                raise ExecutorError(f"volume {verb}: {name}: failed: Staging failed on {bhost}. "
                                    f"Error: Failed to find brick directory {spec[len(bhost) + 1:]} "
                                    f"for volume {name}. Reason : No such file or directory", host)

    def _record(self, volume: VolumeRequest, specs: list[str]) -> dict[str, Any]:
        options = dict(filter(None, (V.parse_volume_option(o) for o in volume.options)))
        options[C.HEKETI_ID_OPTION] = volume.id
        return {"id": volume.id, "gluster_id": str(uuid.uuid4()),
                "durability": volume.durability, "replica": volume.replica,
                "arbiter": volume.arbiter, "disperse_data": volume.disperse_data,
                "disperse_redundancy": volume.disperse_redundancy,
                "bricks": specs, "options": options, "started": True}

    async def volume_create(self, host: str, volume: VolumeRequest) -> None:
        C.volume_create(self._cfg, volume)
        rec = self._glusterd(host)
        specs = [f"{h}:{p}" for h, p in volume.bricks]
        if self._state.find_volume(host, volume.name, [brick_host(s) for s in specs]):
            raise NothingChanged(f"volume create: {volume.name}: failed: Volume "
                                 f"{volume.name} already exists", host)
        self._check_bricks_free(host, volume.name, "create", specs)
        rec["volumes"][volume.name] = self._record(volume, specs)
        self._state.save(links=[(host, brick_host(s)) for s in specs])

    async def volume_expand(self, host: str, volume: VolumeRequest,
                            new_bricks: list[tuple[str, str]], rebalance: bool = True) -> None:
        C.volume_expand(self._cfg, volume, new_bricks, rebalance)
        rec = self._glusterd(host)
        specs = [f"{h}:{p}" for h, p in new_bricks]
        found = self._state.find_volume(host, volume.name)
        if found is None and self.strict:
            raise ExecutorError(f"volume add-brick: failed: Volume {volume.name} "
                                "does not exist", host)
        self._check_bricks_free(host, volume.name, "add-brick", specs)
        if found is None:
            rec["volumes"][volume.name] = self._record(volume, specs)
        else:
            found[1]["bricks"].extend(specs)
        self._state.save(links=[(found[0] if found else host, brick_host(s)) for s in specs])

    async def volume_destroy(self, host: str, name: str) -> None:
        C.volume_destroy(self._cfg, name)
        self._glusterd(host)
        found = self._state.find_volume(host, name)
        if found is not None:
            del self._state.hosts[found[0]]["volumes"][name]
            self._state.save()

    def _volume(self, host: str, name: str, verb: str) -> dict[str, Any]:
        self._glusterd(host)
        found = self._state.find_volume(host, name)
        if found is None:
            raise ExecutorError(f"{verb}Volume {name} does not exist", host)
        return found[1]

    def _volume_or_none(self, host: str, name: str, verb: str) -> dict[str, Any] | None:
        """Lenient mode: None for an unknown volume (heketi's mock knows none)."""
        try:
            return self._volume(host, name, verb)
        except NodeUnreachable:
            raise
        except ExecutorError:
            if self.strict or host in self.down_hosts:
                raise
            return None

    async def volume_info(self, host: str, name: str) -> VolumeInfo:
        C.volume_info(self._cfg, name)
        vol = self._volume_or_none(host, name, "")
        if vol is None:  # heketi's mock: three bricks <host>:/mockpath
            return VolumeInfo(name=name, brick_count=3,
                              bricks=[BrickInfo(f"{host}:/mockpath") for _ in range(3)])
        return to_volume_info(name, vol)

    async def volume_heal_info(self, host: str, name: str) -> list[HealBrickInfo]:
        C.volume_heal_info(self._cfg, name)
        vol = self._volume_or_none(host, name, "")
        if vol is None:
            return []
        dead = set()
        for host_name in self.unreachable_hosts | self.down_hosts:
            dead |= {host_name, *self._state.hosts.get(host_name, {}).get("storage", [])}
        return [HealBrickInfo(name=spec, status="Transport endpoint is not connected",
                              number_of_entries="-") if brick_host(spec) in dead else
                HealBrickInfo(name=spec, status="Connected",
                              number_of_entries=str(self.heal_entries.get(spec, 0)))
                for spec in vol["bricks"]]

    async def volume_replace_brick(self, host: str, name: str, old_brick: tuple[str, str],
                                   new_brick: tuple[str, str]) -> None:
        C.volume_replace_brick(self._cfg, name, old_brick, new_brick)
        vol = self._volume_or_none(host, name, "volume replace-brick: failed: ")
        old, new = f"{old_brick[0]}:{old_brick[1]}", f"{new_brick[0]}:{new_brick[1]}"
        self._check_bricks_free(host, name, "replace-brick", [new])
        if vol is None:
            return
        if old not in vol["bricks"]:
            if not self.strict:
                return
            raise ExecutorError(f"volume replace-brick: failed: brick: {old} does not exist "
                                f"in volume: {name}", host)
        vol["bricks"][vol["bricks"].index(old)] = new
        self._state.save()

    async def volume_clone(self, host: str, name: str, clone_name: str) -> VolumeInfo:
        C.volume_clone(self._cfg, name, clone_name, "tmpsnap_mock")
        src = self._volume(host, name, f"Failed to create snapshot of volume {name}: ")
        if self._state.find_volume(host, clone_name):
            raise ExecutorError(f"Failed to clone snapshot of volume {name} to volume "
                                f"{clone_name}: Volume with name:{clone_name} already exists",
                                host)
        gluster_id = uuid.uuid4()
        specs = []
        for i, spec in enumerate(src["bricks"]):
            bhost = brick_host(spec)
            path = f"/run/gluster/snaps/{gluster_id.hex}/brick{i + 1}/brick"
            specs.append(f"{bhost}:{path}")
            origin = self._state.find_brick(spec)
            if origin is not None:  # clone brick: new thin LV in the origin's pool
                owner, brick = origin
                self._state.host(owner)["bricks"][path] = {
                    **brick, "id": "", "lv": f"{gluster_id.hex}_{i}",
                    "mount": path.rsplit("/", 1)[0]}
        self._state.host(host)["volumes"][clone_name] = {
            **src, "id": "", "gluster_id": str(gluster_id), "bricks": specs,
            "options": dict(src["options"]), "started": True}
        self._state.save()
        return to_volume_info(clone_name, self._state.find_volume(host, clone_name)[1])


def to_volume_info(name: str, vol: dict[str, Any]) -> VolumeInfo:
    """A stored volume as ``gluster volume info`` would describe it."""
    bricks = vol["bricks"]
    if vol["durability"] == "replicate":
        per_set, kind = vol["replica"] or 1, "Replicate"
    elif vol["durability"] == "disperse":
        per_set, kind = vol["disperse_data"] + vol["disperse_redundancy"], "Disperse"
    else:
        per_set, kind = 1, "Distribute"
    if kind != "Distribute" and len(bricks) > per_set:
        kind = f"Distributed-{kind}"
    return VolumeInfo(
        name=name, id=vol["gluster_id"], status=1 if vol["started"] else 2, type_str=kind,
        brick_count=len(bricks),
        replica_count=vol["replica"] if vol["durability"] == "replicate" else 1,
        arbiter_count=1 if vol["arbiter"] else 0,
        disperse_count=per_set if vol["durability"] == "disperse" else 0,
        redundancy_count=vol["disperse_redundancy"] if vol["durability"] == "disperse" else 0,
        bricks=[BrickInfo(name=spec, is_arbiter=vol["arbiter"] and i % 3 == 2)
                for i, spec in enumerate(bricks)],
        options=dict(vol["options"]))
