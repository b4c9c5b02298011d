"""Value types of the placement package.

Mirrors the inputs and outputs of heketi's placer: ``DeviceAndNode``
(``placer.go``), the ``VolumeDurability`` implementations
(``volume_durability_*.go``), the brick limits of ``app_config.go`` and the
``BrickSet``/``BrickEntry`` results of ``brick_allocate.go``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# PlacementError and TagRule live in their own modules; model re-exports them.
from pyketi.placement.errors import PlacementError  # noqa: F401
from pyketi.placement.sizes import GB, TB
from pyketi.placement.tags import TagRule

#: ``DEFAULT_REPLICA`` in volume_entry.go (used when replica is 0).
DEFAULT_REPLICA = 2
#: ``DEFAULT_EC_DATA`` / ``DEFAULT_EC_REDUNDANCY`` (unreachable via the API).
DEFAULT_EC_DATA = 4
DEFAULT_EC_REDUNDANCY = 2
#: Disperse combinations heketi's API accepts (``data+redundancy``).
ALLOWED_DISPERSE = frozenset({(2, 1), (4, 2), (8, 3), (8, 4)})
DURABILITY_TYPES = ("none", "replicate", "disperse")


@dataclass(frozen=True)
class DeviceCandidate:
    """One online device on an online node of the target cluster.

    ``tags`` are the node tags merged with the device tags (device wins).
    """

    id: str
    node_id: str
    zone: int
    free_kib: int
    extent_kib: int = 4096
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Durability:
    """Volume durability (``api.VolumeDurabilityInfo``).

    ``type`` is ``none`` (distribute), ``replicate`` or ``disperse``; an
    empty type means ``none`` as in heketi.
    """

    type: str = "none"
    replica: int = 0
    data: int = 0
    redundancy: int = 0

    @property
    def kind(self) -> str:
        """The type with ``""`` normalised to ``none``."""
        return self.type or "none"

    @property
    def data_bricks(self) -> int:
        """Data bricks per disperse set (heketi default 4 when unset)."""
        return self.data or DEFAULT_EC_DATA

    @property
    def redundancy_bricks(self) -> int:
        """Redundancy bricks per disperse set (heketi default 2 when unset)."""
        return self.redundancy or DEFAULT_EC_REDUNDANCY

    @property
    def bricks_per_set(self) -> int:
        """``BricksInSet``: replica (0 → 2), data+redundancy, or 1."""
        kind = self.kind
        if kind == "replicate":
            return self.replica or DEFAULT_REPLICA
        if kind == "disperse":
            return self.data_bricks + self.redundancy_bricks
        if kind == "none":
            return 1
        raise ValueError("Unknown durability type")

    def validate(self) -> None:
        """Request validation with heketi's error texts (``app_volume.go``)."""
        kind = self.kind
        if kind not in DURABILITY_TYPES:
            raise ValueError("Unknown durability type")
        if kind == "replicate" and not 0 <= self.replica <= 3:
            raise ValueError("Invalid replica value")
        if kind == "disperse" and (self.data, self.redundancy) not in ALLOWED_DISPERSE:
            raise ValueError(f"Invalid dispersion combination: {self.data}+{self.redundancy}")

    def describe(self) -> str:
        """Short human description: ``replica 3``, ``disperse 4+2``, ``distribute``."""
        kind = self.kind
        if kind == "replicate":
            return f"replica {self.bricks_per_set}"
        if kind == "disperse":
            return f"disperse {self.data_bricks}+{self.redundancy_bricks}"
        return "distribute"


@dataclass(frozen=True)
class Limits:
    """Brick limits from the server configuration (``brick_min_size_gb`` ...)."""

    brick_min_kib: int = 1 * GB
    brick_max_kib: int = 4 * TB
    max_bricks_per_volume: int = 32


@dataclass(frozen=True)
class VolumeSpec:
    """What to place: a new volume, or the added part of an expansion.

    ``existing_bricks`` counts the volume's current bricks toward the
    maximum (expand).  ``snapshot_factor`` is 1 when snapshots are off.
    """

    size_gib: int
    durability: Durability
    snapshot_factor: float = 1.0
    arbiter: bool = False
    average_file_size_kib: int = 64
    zone_strict: bool = False
    tag_rule: TagRule | None = None
    existing_bricks: int = 0


@dataclass(frozen=True)
class BrickPlacement:
    """One brick to create (``BrickEntry``).

    ``size_kib`` is the brick (virtual LV) size, ``total_kib`` what it takes
    from the device: thin pool plus pool metadata.
    """

    id: str
    device_id: str
    node_id: str
    set_index: int
    position: int
    size_kib: int
    tp_size_kib: int
    pool_metadata_kib: int
    total_kib: int
    arbiter: bool = False


@dataclass
class Placement:
    """The result: brick sets in gluster brick order."""

    sets: list[list[BrickPlacement]]
    brick_size_kib: int
    arbiter_brick_size_kib: int | None = None

    @property
    def bricks(self) -> list[BrickPlacement]:
        """All bricks, set 0 positions 0..n-1, then set 1 ... (gluster order)."""
        return [brick for brick_set in self.sets for brick in brick_set]

    @property
    def device_usage(self) -> dict[str, int]:
        """KiB taken from each device (sum of ``total_kib``)."""
        usage: dict[str, int] = {}
        for brick in self.bricks:
            usage[brick.device_id] = usage.get(brick.device_id, 0) + brick.total_kib
        return usage
