"""What one brick set needs: positions, roles, sizes and device filters.

Shared by the allocator (which fills positions in heketi's order) and by the
failure explanation and capacity check (which reason about roles).  Mirrors
``VolumePlacementOpts`` (``brick_allocate.go``), ``PlacerForVolume``
(``placer.go``: arbiter placer when ``user.heketi.arbiter`` is set) and the
position/role rules of ``ArbiterBrickPlacer`` (``placer_arbiter.go``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from pyketi.placement.model import DeviceCandidate, VolumeSpec
from pyketi.placement.sizes import SpaceNeeded, go_float32, space_needed
from pyketi.placement.tags import TagRule, can_host_arbiter, can_host_data

DATA = "data"
ARBITER = "arbiter"
#: ``arbiter_index`` in placer_arbiter.go: the arbiter is the third brick.
ARBITER_POSITION = 2

TagCheck = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True)
class Requirement:
    """The bricks of one role in a set: how many, how big, on which devices."""

    role: str
    count: int
    brick_kib: int
    noun: str
    accepts: TagCheck | None = None

    def eligible(self, device: DeviceCandidate, rule: TagRule | None) -> bool:
        """Device passes the tag rule and may hold bricks of this role."""
        if rule is not None and not rule.matches(device.tags):
            return False
        return self.accepts is None or self.accepts(device.tags)


class NeedCache(dict[int, SpaceNeeded]):
    """``SpaceNeeded`` of one brick size per device extent size: ``cache[extent]``.

    A dict so that the hot loop pays a C-level lookup; misses are computed.
    """

    def __init__(self, brick_kib: int, snapshot_factor: float) -> None:
        super().__init__()
        self.brick_kib = brick_kib
        self.snapshot_factor = snapshot_factor

    def __missing__(self, extent_kib: int) -> SpaceNeeded:
        need = space_needed(self.brick_kib, self.snapshot_factor, extent_kib)
        self[extent_kib] = need
        return need


@dataclass(frozen=True)
class PlacementJob:
    """Per-request constants derived from a :class:`VolumeSpec`."""

    bricks_per_set: int
    description: str
    arbiter: bool
    strict: bool
    tag_rule: TagRule | None
    snapshot_factor: float
    snapshot_factor_shown: float
    average_file_size_kib: int

    @classmethod
    def from_spec(cls, spec: VolumeSpec) -> PlacementJob:
        """Check the spec and derive the job; ``ValueError`` if unusable."""
        durability = spec.durability
        if durability.kind not in ("none", "replicate", "disperse"):
            raise ValueError("Unknown durability type")
        bps = durability.bricks_per_set
        description = durability.describe()
        if spec.arbiter:
            # heketi would place an arbiter layout for any durability and let
            # gluster reject it; only replica 3 can carry an arbiter brick.
            if durability.kind != "replicate" or bps != 3:
                raise ValueError("Arbiter volumes require durability replicate with replica 3")
            description += " arbiter"
        if spec.size_gib < 0:
            raise ValueError(f"Volume size must not be negative, got {spec.size_gib}")
        return cls(
            bricks_per_set=bps,
            description=description,
            arbiter=spec.arbiter,
            strict=spec.zone_strict,
            tag_rule=spec.tag_rule,
            snapshot_factor=go_float32(spec.snapshot_factor),
            snapshot_factor_shown=spec.snapshot_factor,
            average_file_size_kib=spec.average_file_size_kib,
        )

    @property
    def positions(self) -> list[tuple[int, str]]:
        """``(position, role)`` in fill order: 0..n-1, or 2,1,0 for arbiter."""
        if not self.arbiter:
            return [(position, DATA) for position in range(self.bricks_per_set)]
        return [
            (position, ARBITER if position == ARBITER_POSITION else DATA)
            for position in reversed(range(self.bricks_per_set))
        ]

    def requirements(self, brick_kib: int, arbiter_brick_kib: int | None) -> list[Requirement]:
        """The roles of one set with their brick counts and sizes."""
        if not self.arbiter or arbiter_brick_kib is None:
            return [Requirement(DATA, self.bricks_per_set, brick_kib, "brick")]
        return [
            Requirement(ARBITER, 1, arbiter_brick_kib, "arbiter brick", can_host_arbiter),
            Requirement(DATA, self.bricks_per_set - 1, brick_kib, "data brick", can_host_data),
        ]
