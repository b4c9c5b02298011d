"""The "simple allocator ring": the order in which devices are offered.

Mirrors ``SimpleAllocatorRing`` (``allocator_simple_ring.go``):
``Rebalance`` groups devices by zone, then node, and interleaves them
round-robin so that neighbours tend to differ in zone and node;
``GetDeviceList`` rotates the list to start at ``int(id[:7], 16) % len``.

heketi iterates Go maps to list zones and nodes, which makes their order
random; here an explicit ``random.Random`` shuffles them instead.  Within a
node, devices keep the caller's order and are popped from the end, as in Go.

The interleaving is a step-by-step simulation (one device per step), which
is the bulk of a placement's cost on a large cluster.  :class:`BalancedRing`
therefore runs it lazily: a brick set usually takes its devices a few steps
past its start position, so on average only half the list is ever built.
"""

from __future__ import annotations

import random
import re
from itertools import islice
from typing import Generic, Iterable, Iterator, Protocol, TypeVar

_HEX7 = re.compile(r"[0-9a-fA-F]{7}")
#: Steps simulated beyond the position asked for, to amortise the calls.
_CHUNK = 64


class RingDevice(Protocol):
    """What the ring needs to know about a device."""

    @property
    def zone(self) -> int: ...  # pragma: no cover - protocol

    @property
    def node_id(self) -> str: ...  # pragma: no cover - protocol


D = TypeVar("D", bound=RingDevice)


def _random_order(items: list, rng: random.Random) -> None:
    """Shuffle in place: sort on random keys (``random.shuffle`` is 5x slower)."""
    items.sort(key=lambda _: rng.random())


class BalancedRing(Generic[D]):
    """``SimpleAllocatorRing`` after ``Rebalance``, built on demand."""

    def __init__(self, devices: Iterable[D], rng: random.Random) -> None:
        by_node: dict[str, list[D]] = {}
        for device in devices:
            node_devices = by_node.get(device.node_id)
            if node_devices is None:
                by_node[device.node_id] = [device]
            else:
                node_devices.append(device)
        # All devices of a node share its zone; group the nodes by zone.
        by_zone: dict[int, list[list[D]]] = {}
        for node_devices in by_node.values():
            by_zone.setdefault(node_devices[0].zone, []).append(node_devices)
        zones = list(by_zone.values())
        _random_order(zones, rng)  # Go map iteration order
        for zone_nodes in zones:
            _random_order(zone_nodes, rng)
        self._zones = zones
        self._node_counts = [len(zone_nodes) for zone_nodes in zones]
        self._built: list[D] = []
        self.length = sum(len(node_devices) for node_devices in by_node.values())

    def _build_to(self, count: int) -> None:
        """Run ``Rebalance`` steps until ``count`` devices are listed (or all).

        Step ``i`` produces ``built[i]``; every step lists one device, so the
        zones run out exactly when ``i`` reaches ``length``.
        """
        built = self._built
        i, count = len(built), min(count, self.length)
        zones, node_counts = self._zones, self._node_counts
        zone_count = len(zones)
        append = built.append
        while i < count:
            zone_index = i % zone_count
            node_index = i % node_counts[zone_index]
            node_devices = zones[zone_index][node_index]
            append(node_devices.pop())
            if not node_devices:
                del zones[zone_index][node_index]
                node_counts[zone_index] -= 1
                if not node_counts[zone_index]:
                    del zones[zone_index], node_counts[zone_index]
                    zone_count -= 1
            i += 1

    def __len__(self) -> int:
        return self.length

    def to_list(self) -> list[D]:
        """The whole balanced list (``balancedList``)."""
        self._build_to(self.length)
        return list(self._built)

    def iter_from(self, ring_id: str) -> Iterator[D]:
        """``GetDeviceList(ring_id)``: the list rotated to ``ring_id``'s start."""
        start = rotation_index(ring_id, self.length)
        built = self._built
        position = start
        while position < self.length:
            if position >= len(built):
                self._build_to(position + _CHUNK)
            yield built[position]
            position += 1
        yield from islice(built, start)


def balanced_list(devices: Iterable[D], rng: random.Random) -> list[D]:
    """``Rebalance``: interleave devices by zone, then by node.

    Step ``i`` takes zone ``i % zones``, node ``i % nodes(zone)`` and pops
    that node's last device; exhausted nodes, then zones, are dropped.
    """
    return BalancedRing(devices, rng).to_list()


def rotation_index(ring_id: str, length: int) -> int:
    """Start position for ``ring_id`` in a list of ``length`` devices.

    ``strconv.ParseInt(id[:7], 16, 32) % len``; an id that does not start
    with seven hex digits leaves the list unrotated (heketi logs and goes on).
    """
    if length == 0 or not _HEX7.fullmatch(ring_id[:7]):
        return 0
    return int(ring_id[:7], 16) % length
