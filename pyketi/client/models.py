"""Shapes of the JSON the server sends (heketi-spec §1.5-1.11).

These are ``TypedDict``s: the client returns the server's JSON objects as
plain dicts (key order preserved, so ``--json`` output is the server's), and
these types document and type-check them.  ``total=False`` marks keys the
server omits when empty.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

State = Literal["online", "offline", "failed"]
TagChange = Literal["set", "update", "delete"]


class ClusterList(TypedDict):
    clusters: list[str]


class ClusterInfo(TypedDict):
    id: str
    nodes: list[str]
    volumes: list[str]
    block: bool
    file: bool
    blockvolumes: list[str]


class Hostnames(TypedDict):
    manage: list[str]
    storage: list[str]


class Storage(TypedDict):
    total: int  # KiB
    free: int
    used: int


class BrickInfo(TypedDict):
    id: str
    path: str
    device: str
    node: str
    volume: str
    size: int  # KiB


class _DeviceInfoBase(TypedDict):
    name: str
    storage: Storage
    id: str
    state: State
    bricks: list[BrickInfo]


class DeviceInfo(_DeviceInfoBase, total=False):
    tags: dict[str, str]
    paths: list[str]
    pv_uuid: str


class _NodeInfoBase(TypedDict):
    zone: int
    hostnames: Hostnames
    cluster: str
    id: str
    state: State
    devices: list[DeviceInfo]


class NodeInfo(_NodeInfoBase, total=False):
    tags: dict[str, str]


class Replicate(TypedDict, total=False):
    replica: int


class Disperse(TypedDict, total=False):
    data: int
    redundancy: int


class Durability(TypedDict, total=False):
    type: str
    replicate: Replicate
    disperse: Disperse


class Snapshot(TypedDict, total=False):
    enable: bool
    factor: float


class GlusterMount(TypedDict):
    hosts: list[str]
    device: str
    options: dict[str, str]


class Mount(TypedDict):
    glusterfs: GlusterMount


class BlockInfo(TypedDict, total=False):
    freesize: int
    reservedsize: int
    blockvolume: list[str]
    restriction: str


class _VolumeInfoBase(TypedDict):
    size: int  # GiB
    name: str
    durability: Durability
    snapshot: Snapshot
    id: str
    cluster: str
    mount: Mount
    blockinfo: BlockInfo
    bricks: list[BrickInfo]


class VolumeInfo(_VolumeInfoBase, total=False):
    gid: int
    glustervolumeoptions: list[str]
    block: bool


class VolumeList(TypedDict):
    volumes: list[str]


class TopologyCluster(TypedDict):
    volumes: list[VolumeInfo]
    nodes: list[NodeInfo]
    id: str
    block: bool
    file: bool


class TopologyInfo(TypedDict):
    clusters: list[TopologyCluster]


class OperationsInfo(TypedDict):
    total: int
    in_flight: int
    stale: int
    failed: int
    new: int


class PendingOperation(TypedDict):
    id: str
    type_name: str
    status: str
    sub_status: str
    progress: NotRequired[str]  # pyketi: from the server running it, or its row


class PendingChange(TypedDict):
    id: str
    description: str


class PendingOperationDetails(PendingOperation):
    changes: list[PendingChange]


class PendingOperationList(TypedDict):
    pendingoperations: list[PendingOperation]


class AdminStatus(TypedDict):
    state: str


class LogLevel(TypedDict):
    loglevel: dict[str, str]  # {"glusterfs": "info"}
