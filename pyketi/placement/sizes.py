"""Brick and thin-pool size arithmetic (pure integer KiB maths).

Mirrors heketi's ``BrickSizeGenerator`` (``volume_durability_*.go``),
``DeviceEntry.SpaceNeeded`` / ``poolMetadataSize`` (``device_entry.go``),
``discountBrickSize`` (``placer_arbiter.go``) and ``MinVolumeSize``.
All sizes are KiB, as in heketi (``KB = 1``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Iterator, NamedTuple

from pyketi.units import GIB_KIB, KIB, MIB_KIB, TIB_KIB

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyketi.placement.model import Durability, Limits

KB, MB, GB, TB = KIB, MIB_KIB, GIB_KIB, TIB_KIB  # heketi's names

#: ``maxPoolMetadataSizeMb`` in device_entry.go (the name lies: it is 16 GiB in KiB).
MAX_POOL_METADATA_KIB = 16 * GB
#: ``poolMetadataSize``: metadata is 0.5 % of the thin pool.
POOL_METADATA_RATIO = 0.005
#: ``discountBrickSize``: smallest XFS filesystem with 4 KiB blocks.
MIN_ARBITER_BRICK_KIB = 16 * MB
#: ``averageFileSize`` default in volume_entry.go.
DEFAULT_AVERAGE_FILE_SIZE_KIB = 64 * KB


class SpaceNeeded(NamedTuple):
    """``SpaceNeeded{TpSize, PoolMetadataSize, Total}`` from device_entry.go."""

    tp_size_kib: int
    pool_metadata_kib: int
    total_kib: int


def go_float32(value: float) -> float:
    """Round ``value`` through an IEEE single, like Go's ``float32`` field.

    heketi stores the snapshot factor as ``float32`` and widens it with
    ``float64(...)`` before multiplying, so ``1.1`` really is 1.100000023841858.
    """
    return struct.unpack("f", struct.pack("f", value))[0]


def _align_up(value: int, extent_kib: int) -> int:
    remainder = value % extent_kib
    return value if remainder == 0 else value + extent_kib - remainder


def space_needed(brick_kib: int, snapshot_factor: float, extent_kib: int) -> SpaceNeeded:
    """Space a brick takes from a device (``DeviceEntry.SpaceNeeded``).

    ``tp = uint64(float64(brick) * factor)`` aligned up to the extent size;
    ``meta = uint64(float64(tp) * 0.005)`` capped at 16 GiB, aligned up to the
    extent size; ``total = tp + meta``.
    """
    if extent_kib <= 0:
        raise ValueError(f"device extent size must be positive, got {extent_kib}")
    tp = _align_up(int(float(brick_kib) * snapshot_factor), extent_kib)
    meta = min(int(float(tp) * POOL_METADATA_RATIO), MAX_POOL_METADATA_KIB)
    meta = _align_up(meta, extent_kib)
    return SpaceNeeded(tp, meta, tp + meta)


def least_space_needed(brick_kib: int, snapshot_factor: float) -> int:
    """A lower bound of :func:`space_needed` ``.total_kib`` for any extent size.

    Extent alignment only rounds up, and the metadata grows with the pool.
    """
    tp = int(float(brick_kib) * snapshot_factor)
    return tp + min(int(float(tp) * POOL_METADATA_RATIO), MAX_POOL_METADATA_KIB)


def _brick_kib(size_gib: int, durability: Durability, num_sets: int) -> int:
    divisor = durability.data_bricks if durability.type == "disperse" else 1
    return size_gib * GB // num_sets // divisor


def brick_sizes(size_gib: int, durability: Durability, limits: Limits) -> Iterator[tuple[int, int]]:
    """Yield ``(num_sets, brick_kib)`` like heketi's ``BrickSizeGenerator``.

    Sets go 1, 2, 4, 8 ...; ``brick = size_kib // sets`` (then ``// data`` for
    disperse).  Sizes above ``brick_max_kib`` are skipped silently; the
    generator ends (heketi: ``ErrMinimumBrickSize``) as soon as a brick would
    be smaller than ``brick_min_kib``.
    """
    num_sets = 1
    while True:
        brick = _brick_kib(size_gib, durability, num_sets)
        if brick < limits.brick_min_kib:
            return
        if brick <= limits.brick_max_kib:
            yield num_sets, brick
        num_sets *= 2


def brick_below_minimum_kib(size_gib: int, durability: Durability, limits: Limits) -> int:
    """The brick size that ended :func:`brick_sizes` (for error messages)."""
    num_sets = 1
    while (brick := _brick_kib(size_gib, durability, num_sets)) >= limits.brick_min_kib:
        num_sets *= 2
    return brick


def min_volume_size_kib(durability: Durability, limits: Limits) -> int:
    """``MinVolumeSize``: ``brick_min`` (× data bricks for disperse)."""
    if durability.type == "disperse":
        return limits.brick_min_kib * durability.data_bricks
    return limits.brick_min_kib


def arbiter_brick_size_kib(
    data_brick_kib: int, average_file_size_kib: int = DEFAULT_AVERAGE_FILE_SIZE_KIB
) -> int:
    """Arbiter brick size (``discountBrickSize`` in placer_arbiter.go).

    ``data_brick // average_file_size``, raised to 16 MiB.  heketi refuses
    (and so do we, with its text) when the average file size exceeds the
    data brick size.
    """
    if average_file_size_kib <= 0:
        raise ValueError(f"Average file size must be positive, got {average_file_size_kib}")
    if data_brick_kib < average_file_size_kib:
        raise ValueError(
            f"Average file size ({average_file_size_kib}) is greater than "
            f"Brick size ({data_brick_kib})"
        )
    return max(data_brick_kib // average_file_size_kib, MIN_ARBITER_BRICK_KIB)
