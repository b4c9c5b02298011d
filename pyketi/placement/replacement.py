"""Where a brick that must leave its device goes (device/node remove, brick evict).

The replacement keeps the volume's durability: it must be on a node that holds
no other copy of its replica set (and, with strict zone checking, in a zone
that holds none), on an online device with room for it.  Among those, the
device with the most free space wins, so the choice is explainable.  When
there is none, ``NoReplacement`` says which rule ruled each device out.
Pure: no database, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from pyketi.placement.model import DeviceCandidate
from pyketi.placement.sizes import SpaceNeeded


class NoReplacement(Exception):
    """No device keeps the brick set's durability; ``str()`` says why."""


@dataclass(frozen=True)
class BrickToMove:
    device_id: str          # where it is now
    node_id: str
    set_nodes: frozenset[str]   # nodes of the other bricks of its replica set
    set_zones: frozenset[int]   # their zones
    copies: int             # bricks in the set (replica / data + redundancy)
    durability: str         # "replica 3", "disperse 4+2" (for the reason)


def choose(candidates: Iterable[DeviceCandidate], brick: BrickToMove,
           need: Callable[[DeviceCandidate], SpaceNeeded], strict_zones: bool,
           exclude_node: str | None = None,
           reserved: Mapping[str, int] | None = None) -> tuple[DeviceCandidate, SpaceNeeded]:
    """The device the brick moves to; ``reserved``: KiB already promised on devices
    by earlier moves of the same removal.  Raises ``NoReplacement``."""
    reserved = reserved or {}
    busy = set(brick.set_nodes) | {brick.node_id} | ({exclude_node} if exclude_node else set())
    ruled: dict[str, int] = {"node": 0, "zone": 0, "space": 0}
    best: tuple[DeviceCandidate, SpaceNeeded, int] | None = None
    for c in candidates:
        if c.id == brick.device_id:
            continue
        if c.node_id in busy:
            ruled["node"] += 1
            continue
        if strict_zones and c.zone in brick.set_zones:
            ruled["zone"] += 1
            continue
        space = need(c)
        free = c.free_kib - reserved.get(c.id, 0)
        if free <= space.total_kib:
            ruled["space"] += 1
            continue
        if best is None or free > best[2]:
            best = (c, space, free)
    if best is None:
        raise NoReplacement(_why(brick, ruled))
    return best[0], best[1]


def _why(brick: BrickToMove, ruled: dict[str, int]) -> str:
    details = []
    if ruled["node"]:
        details.append(f"{ruled['node']} on a node that holds a copy already or is being "
                       "removed")
    if ruled["zone"]:
        details.append(f"{ruled['zone']} in a zone that holds a copy (strict zone checking)")
    if ruled["space"]:
        details.append(f"{ruled['space']} without room for the brick")
    found = (f"online devices ruled out: {'; '.join(details)}" if details
             else "no other online device in the cluster")
    return (f"{brick.durability} keeps the {brick.copies} copies of a brick on "
            f"{brick.copies} different nodes and no other node can take this copy "
            f"({found}); add a node or a device, or bring one online")
