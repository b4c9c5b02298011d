"""The executor interface: what pyketi asks of storage nodes.

Every method is a coroutine and addresses one node by its *manage* hostname
(``host``); addresses inside gluster commands are *storage* hostnames carried
in the request objects.  Implementations:

* ``executors.doubles.mock.MockExecutor``   - no nodes; keeps a fake node state (tests/demos)
* ``executors.doubles.fault.FaultExecutor`` - wraps another executor and fails/hangs at a
  chosen call
* ``executors.cmd.executor.CmdExecutor``    - builds heketi's exact node commands
  (``executors.commands``) and hands them to a ``Transport`` (``executors.transports``)

Batching: a method that touches several objects on one node (``bricks_create``
with many bricks) is one call, so a transport can run the whole batch in one
remote call.  Callers run different nodes in parallel.

Idempotency contract: destroy/delete methods treat "does not exist" as success,
so an undo or a retried delete always finishes.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from pyketi.node_paths import brick_mount_point, brick_path


class ExecutorError(Exception):
    """A node command failed. ``str(err)`` is the text shown to API clients."""

    def __init__(self, message: str, host: str | None = None):
        super().__init__(message)
        self.host = host


class NodeUnreachable(ExecutorError):
    """The node did not answer (connection refused, timeout, ...)."""


class NothingChanged(ExecutorError):
    """The call failed before it changed anything on the node (e.g. ``volume create``
    refused because the name exists there): its step needs no undo."""


class CommandTimeout(ExecutorError):
    """A batch did not finish within its timeout (the node may hang)."""


@dataclass
class DeviceInfo:
    """Sizes in KiB, as reported by ``vgdisplay -c``."""

    total: int
    free: int
    used: int
    extent_size: int = 4096
    pv_uuid: str = ""
    paths: list[str] = field(default_factory=list)


@dataclass
class BrickRequest:
    """One brick on one node (heketi ``executors.BrickRequest``)."""

    id: str            # brick id
    device_id: str     # VG is vg_<device_id>
    node_storage: str  # hostnames.storage[0] of the node
    size_kib: int      # thin LV virtual size
    tp_size_kib: int   # thin pool size
    pool_metadata_kib: int
    gid: int = 0
    arbiter: bool = False
    # clone bricks reuse another brick's thin pool / LV names
    tp_name: str = ""  # default tp_<id>
    lv_name: str = ""  # default brick_<id>
    path: str = ""     # default /var/lib/heketi/mounts/vg_<dev>/brick_<id>/brick

    @property
    def vg(self) -> str:
        return f"vg_{self.device_id}"

    @property
    def thin_pool(self) -> str:
        return self.tp_name or f"tp_{self.id}"

    @property
    def lv(self) -> str:
        return self.lv_name or f"brick_{self.id}"

    @property
    def mount_point(self) -> str:
        return brick_mount_point(self.device_id, self.id)

    @property
    def brick_path(self) -> str:
        return self.path or brick_path(self.device_id, self.id)


@dataclass
class VolumeRequest:
    """A gluster volume (heketi ``executors.VolumeRequest``).

    ``bricks`` are in brick-set order: consecutive groups of ``bricks_per_set``
    form the replica/disperse sets.  ``bricks`` is (storage host, brick path).
    """

    name: str
    id: str
    durability: str                 # "none" | "replicate" | "disperse"
    replica: int = 0                # bricks per set for replicate
    arbiter: bool = False
    disperse_data: int = 0
    disperse_redundancy: int = 0
    bricks: list[tuple[str, str]] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # "key value" strings, verbatim

    @property
    def bricks_per_set(self) -> int:
        if self.durability == "replicate":
            return self.replica
        if self.durability == "disperse":
            return self.disperse_data + self.disperse_redundancy
        return 1


@dataclass
class BrickInfo:
    name: str            # host:/path
    host_uuid: str = ""
    is_arbiter: bool = False


@dataclass
class HealBrickInfo:
    """One brick of ``gluster volume heal <vol> info --xml``."""

    name: str                 # host:/path (or "information not available")
    host_uuid: str = ""
    status: str = ""
    number_of_entries: str = ""  # "-" when the brick is down

    @property
    def healed(self) -> bool:
        """heketi: replaceable only if numberOfEntries is "-" or "0"."""
        return self.number_of_entries in ("-", "0")


@dataclass
class VolumeInfo:
    """Parsed ``gluster volume info <name> --xml``."""

    name: str
    id: str = ""
    status: int = 0
    type_str: str = ""
    brick_count: int = 0
    replica_count: int = 0
    arbiter_count: int = 0
    disperse_count: int = 0
    redundancy_count: int = 0
    bricks: list[BrickInfo] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


class Executor(abc.ABC):
    """What the operations layer needs from storage nodes."""

    # -- nodes / peers ----------------------------------------------------
    @abc.abstractmethod
    async def glusterd_check(self, host: str) -> None:
        """Raise ExecutorError unless glusterd runs on ``host``."""

    @abc.abstractmethod
    async def peer_probe(self, host: str, new_node_storage: str) -> None:
        """On ``host`` (an existing node): ``gluster peer probe <new>``."""

    @abc.abstractmethod
    async def peer_detach(self, host: str, node_storage: str) -> None:
        """On ``host``: ``gluster peer detach <node>``; "not a peer" counts as done."""

    # -- devices ----------------------------------------------------------
    @abc.abstractmethod
    async def device_setup(self, host: str, device_name: str, device_id: str,
                           destroy_data: bool = False) -> DeviceInfo:
        """pvcreate/vgcreate vg_<device_id> on ``device_name``; return sizes."""

    @abc.abstractmethod
    async def device_teardown(self, host: str, device_name: str, device_id: str,
                              pv_uuid: str = "", force: bool = False) -> None:
        """vgremove/pvremove/rmdir; missing VG/PV counts as done. ``force``: ignore errors."""

    @abc.abstractmethod
    async def device_info(self, host: str, device_name: str, device_id: str,
                          pv_uuid: str = "") -> DeviceInfo:
        """Current sizes of vg_<device_id> (device resync)."""

    # -- bricks (all bricks given are on ``host``; one batch) -------------
    @abc.abstractmethod
    async def bricks_create(self, host: str, bricks: list[BrickRequest]) -> None:
        """Create every brick; on failure raise (the caller's undo destroys them all)."""

    @abc.abstractmethod
    async def bricks_destroy(self, host: str, bricks: list[BrickRequest]) -> list[bool]:
        """Destroy bricks; missing pieces count as done.

        Returns, per brick, whether its thin pool was removed (space reclaimed).
        """

    # -- volumes (run on one node of the cluster) -------------------------
    @abc.abstractmethod
    async def volume_create(self, host: str, volume: VolumeRequest) -> None:
        """volume create (first set) + add-brick (rest) + set options + set user.heketi.id + start.

        A failure after ``volume create`` leaves the half-made volume to the caller's
        undo (the operation engine destroys it); a failure of ``volume create`` itself
        raises ``NothingChanged`` (a volume of that name may exist and is not ours)."""

    @abc.abstractmethod
    async def volume_expand(self, host: str, volume: VolumeRequest,
                            new_bricks: list[tuple[str, str]], rebalance: bool = True) -> None:
        """add-brick ``new_bricks`` (brick-set order), then rebalance start (failure ignored)."""

    @abc.abstractmethod
    async def volume_destroy(self, host: str, name: str) -> None:
        """volume stop force (ignored) + volume delete; "does not exist" counts as done."""

    @abc.abstractmethod
    async def volume_info(self, host: str, name: str) -> VolumeInfo:
        """``gluster volume info <name> --xml``."""

    @abc.abstractmethod
    async def volume_clone(self, host: str, name: str, clone_name: str) -> VolumeInfo:
        """Snapshot + clone + start; returns the clone's volume info."""

    # -- optional: brick replacement (device remove / evict) ---------------
    async def volume_replace_brick(self, host: str, name: str,
                                   old_brick: tuple[str, str],
                                   new_brick: tuple[str, str]) -> None:
        """``gluster volume replace-brick <vol> <old> <new> commit force``.

        Bricks are (storage host, brick path).
        """
        raise ExecutorError(f"{type(self).__name__} does not support replace-brick", host)

    async def brick_replace(self, host: str, volume_name: str, old_brick: tuple[str, str],
                            new_brick: tuple[str, str]) -> None:
        """Alias of ``volume_replace_brick`` (the name the operations layer uses)."""
        await self.volume_replace_brick(host, volume_name, old_brick, new_brick)

    async def volume_heal_info(self, host: str, name: str) -> list[HealBrickInfo]:
        """``gluster volume heal <vol> info --xml``."""
        raise ExecutorError(f"{type(self).__name__} does not support heal info", host)

    def unreachable(self, host: str) -> str | None:
        """Why ``host`` would be refused at once now (it recently did not answer), or None.

        Lets an operation fail before it changes anything on any node."""
        return None

    async def close(self) -> None:
        """Release connections (SSH transports)."""
