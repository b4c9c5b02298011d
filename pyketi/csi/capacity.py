"""Capacity arithmetic: CSI byte ranges -> whole GiB, and how big a volume
the free space of a cluster can really hold for a durability.  Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable

from pyketi.csi.params import Durability

GIB = 1 << 30
KIB = 1 << 10
DEFAULT_SIZE_GIB = 1
THIN_POOL_METADATA = 0.005      # heketi adds 0.5 % of the pool for metadata
DEFAULT_REPLICA = 2             # heketi's value for replicate with replica 0


class RangeError(ValueError):
    """``invalid`` True: a malformed range (INVALID_ARGUMENT); False: no whole
    GiB fits in it (OUT_OF_RANGE)."""

    def __init__(self, message: str, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


def size_gib(required: int, limit: int, present: bool = True) -> int:
    """Whole GiB to allocate for a ``CapacityRange`` (contract §9)."""
    if not present:
        return DEFAULT_SIZE_GIB
    if required < 0 or limit < 0:
        raise RangeError("capacity_range: negative sizes are invalid", True)
    if required == 0 and limit == 0:
        raise RangeError("capacity_range: set required_bytes or limit_bytes", True)
    if limit and required > limit:
        raise RangeError(f"capacity_range: required_bytes {required} is above "
                         f"limit_bytes {limit}", False)
    if required:
        gib = -(-required // GIB)
        if limit and gib * GIB > limit:
            raise RangeError(f"capacity_range: {gib} GiB (volumes are whole GiB) is above "
                             f"limit_bytes {limit}", False)
        return gib
    gib = limit // GIB
    if gib == 0:
        raise RangeError(f"capacity_range: limit_bytes {limit} is below 1 GiB, the "
                         "smallest volume", False)
    return gib


def in_range(size_bytes: int, required: int, limit: int) -> bool:
    return size_bytes >= required and (not limit or size_bytes <= limit)


def brick_width(durability: Durability) -> tuple[int, int]:
    """(bricks per set, data bricks per set)."""
    if durability.type == "replicate":
        return (durability.replica or DEFAULT_REPLICA), 1
    if durability.type == "disperse":
        return durability.data + durability.redundancy, durability.data
    return 1, 1


def largest_set_share(node_free: list[int], width: int) -> int:
    """Largest ``S`` such that bricks of total size ``S`` per set member can be
    spread over ``width`` distinct nodes: ``sum(min(f, S)) >= width * S``
    (each node holds at most one brick of a set, so at most ``S`` of the
    ``width * S``)."""
    free = [f for f in node_free if f > 0]
    if len(free) < width or width <= 0:
        return 0
    lo, hi = 0, sum(free) // width
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(f, mid) for f in free) >= width * mid:
            lo = mid
        else:
            hi = mid - 1
    return lo


def placeable_bytes(node_free_kib: Iterable[int], durability: Durability,
                    snap_factor: float = 1.0) -> int:
    """Bytes of volume (whole GiB) that fit in one cluster whose nodes have
    ``node_free_kib`` free (sum over their online devices)."""
    width, data = brick_width(durability)
    share_kib = largest_set_share(list(node_free_kib), width)
    per_brick = share_kib / (max(snap_factor, 1.0) * (1 + THIN_POOL_METADATA))
    volume_bytes = per_brick * KIB * data
    return int(math.floor(volume_bytes / GIB)) * GIB
