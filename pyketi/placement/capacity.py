"""Fast "can this brick size possibly fit?" check for the halving loop.

heketi retries with ever smaller bricks and rescans the whole ring each
time.  A scan that fails costs one pass over every device, so sizes that
cannot fit are rejected up front: at first only by the largest free device
(found at C speed), and once a scan has failed also by a per-role summary
(largest free device per node and per zone).  Every check is a necessary
condition only: when it passes, the real placement still runs and decides,
so the outcome is heketi's, only cheaper to reach.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import Sequence

from pyketi.placement.model import DeviceCandidate
from pyketi.placement.requirements import PlacementJob, Requirement
from pyketi.placement.sizes import least_space_needed


class _RoleMaxima:
    """Sorted per-node and per-zone maxima of free space for one role."""

    def __init__(self, devices: Sequence[DeviceCandidate], requirement: Requirement,
                 job: PlacementJob) -> None:
        node_max: dict[str, int] = {}
        zone_max: dict[int, int] = {}
        for device in devices:
            if not requirement.eligible(device, job.tag_rule):
                continue
            free = device.free_kib
            if free > node_max.get(device.node_id, -1):
                node_max[device.node_id] = free
            if free > zone_max.get(device.zone, -1):
                zone_max[device.zone] = free
        self.nodes = sorted(node_max.values())
        self.zones = sorted(zone_max.values())

    def count_above(self, need_kib: int, zones: bool = False) -> int:
        values = self.zones if zones else self.nodes
        return len(values) - bisect_right(values, need_kib)


class Capacity:
    """Summary of the untouched cluster used to skip hopeless attempts."""

    def __init__(self, devices: Sequence[DeviceCandidate], job: PlacementJob) -> None:
        self._devices = devices
        self._job = job
        self._largest = max(map(attrgetter("free_kib"), devices), default=0)
        self._roles: dict[str, _RoleMaxima] | None = None

    def refine(self) -> None:
        """Also check per-node and per-zone maxima from now on (O(n) once)."""
        if self._roles is None:
            self._roles = {}

    def _maxima(self, requirement: Requirement) -> _RoleMaxima:
        assert self._roles is not None
        maxima = self._roles.get(requirement.role)
        if maxima is None:
            maxima = _RoleMaxima(self._devices, requirement, self._job)
            self._roles[requirement.role] = maxima
        return maxima

    def may_fit(self, requirements: Sequence[Requirement]) -> bool:
        """False only if the first brick set certainly cannot be placed."""
        for requirement in requirements:
            smallest = least_space_needed(requirement.brick_kib, self._job.snapshot_factor)
            if smallest >= self._largest:
                return False
            if self._roles is None:
                continue
            maxima = self._maxima(requirement)
            if maxima.count_above(smallest) < requirement.count:
                return False
            if self._job.strict and maxima.count_above(smallest, zones=True) < requirement.count:
                return False
        return True
