"""Pure brick placement for pyketi (heketi's allocator without I/O).

Given the candidate devices of one cluster and a volume request, decide how
many brick sets of which size go on which devices, exactly as heketi would,
and explain failures in plain words.  No database, no asyncio, no I/O.
"""

from pyketi.placement.allocator import place_volume
from pyketi.placement.model import (
    BrickPlacement,
    DeviceCandidate,
    Durability,
    Limits,
    Placement,
    PlacementError,
    TagRule,
    VolumeSpec,
)
from pyketi.placement.options import VolumeOptions, parse_volume_options
from pyketi.placement.sizes import (
    arbiter_brick_size_kib,
    brick_sizes,
    min_volume_size_kib,
    space_needed,
)

__all__ = [
    "BrickPlacement",
    "DeviceCandidate",
    "Durability",
    "Limits",
    "Placement",
    "PlacementError",
    "TagRule",
    "VolumeOptions",
    "VolumeSpec",
    "arbiter_brick_size_kib",
    "brick_sizes",
    "min_volume_size_kib",
    "parse_volume_options",
    "place_volume",
    "space_needed",
]
