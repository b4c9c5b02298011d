"""Shared builders for the placement tests."""

from __future__ import annotations

from typing import Mapping

from pyketi.placement import DeviceCandidate

#: A fresh mock-executor device (heketi: 500 GiB).
MOCK_DEVICE_KIB = 524288000


def cluster(nodes: int, devices_per_node: int = 1, free_kib: int = MOCK_DEVICE_KIB,
            zones: int | None = None, tags: Mapping[str, str] | None = None,
            node_prefix: str = "n") -> list[DeviceCandidate]:
    """``nodes`` nodes (zone = node index % zones + 1) with identical devices."""
    zones = zones or nodes
    return [
        DeviceCandidate(id=f"{node_prefix}{n}d{d}", node_id=f"{node_prefix}{n}",
                        zone=n % zones + 1, free_kib=free_kib, tags=dict(tags or {}))
        for n in range(nodes) for d in range(devices_per_node)
    ]
