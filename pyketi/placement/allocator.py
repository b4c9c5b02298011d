"""Volume brick placement: heketi's allocator, minus the database.

Mirrors ``allocBricksInCluster`` (``volume_entry_allocate.go``: the halving
loop and the brick-count limit), ``StandardBrickPlacer.PlaceAll`` /
``populateBrickSet`` (``brick_allocate.go``) and ``ArbiterBrickPlacer``
(``placer_arbiter.go``), with ``DeviceEntry.NewBrickEntry`` space accounting.

Differences that do not change outcomes:

* The balanced rings are built once per call and only rotated per brick set
  (heketi rebuilds them, in a new random map order, for every set).
* Once an attempt has failed, hopeless brick sizes are rejected from a
  capacity summary instead of rescanning every device (see ``capacity.py``).
* In arbiter sets the id used to rotate the rings becomes the id of the
  brick at position 0, as in the standard placer (heketi draws a separate
  random id for the arbiter scanner; both are random either way).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import chain
from typing import Callable, Iterator, Mapping, Sequence

from pyketi.ids import new_id
from pyketi.placement.capacity import Capacity
from pyketi.placement.errors import PlacementError
from pyketi.placement.explain import (
    max_bricks_reason,
    min_brick_reason,
    space_reason,
    static_reason,
    stop_note,
)
from pyketi.placement.model import BrickPlacement, DeviceCandidate, Limits, Placement, VolumeSpec
from pyketi.placement.requirements import (
    ARBITER,
    DATA,
    NeedCache,
    PlacementJob,
    Requirement,
)
from pyketi.placement.ring import BalancedRing
from pyketi.placement.sizes import arbiter_brick_size_kib, brick_below_minimum_kib, brick_sizes
from pyketi.placement.tags import ARBITER_DISABLED, ARBITER_REQUIRED, ARBITER_TAG

IdFactory = Callable[[], str]


@dataclass
class _SetFailure:
    """Where an attempt stopped: the set that could not be filled."""

    set_index: int
    requirements: list[Requirement]
    taken: dict[str, int]
    scanned: bool = True


class _Rings:
    """The balanced device lists each role draws from (built once per call).

    Standard placer: one ring of every device.  Arbiter placer
    (``ArbiterBrickPlacer.Scanner``): an arbiter-only ring, a data-only ring
    and a ring of devices that can hold either; the arbiter feed is
    arbiter-only then "any", the data feed data-only then "any".
    """

    def __init__(self, devices: Sequence[DeviceCandidate], arbiter: bool,
                 rng: random.Random) -> None:
        if not arbiter:
            self._feeds = {DATA: [BalancedRing(devices, rng)]}
            return
        arbiter_only, data_only, either = [], [], []
        for device in devices:  # arbiter_tag(): absent or unknown = supported
            value = device.tags.get(ARBITER_TAG)
            if value == ARBITER_REQUIRED:
                arbiter_only.append(device)
            elif value == ARBITER_DISABLED:
                data_only.append(device)
            else:
                either.append(device)
        any_ring = BalancedRing(either, rng)
        self._feeds = {ARBITER: [BalancedRing(arbiter_only, rng), any_ring],
                       DATA: [BalancedRing(data_only, rng), any_ring]}

    def feeds(self, ring_id: str) -> dict[str, Iterator[DeviceCandidate]]:
        """``GetDeviceList(ring_id)`` for every role: one-pass device iterators."""
        return {role: chain.from_iterable(ring.iter_from(ring_id) for ring in rings)
                for role, rings in self._feeds.items()}


def _first_fit(feed: Iterator[DeviceCandidate], job: PlacementJob, need: NeedCache,
               taken: Mapping[str, int], used_nodes: list[str], used_zones: list[int]
               ) -> DeviceCandidate | None:
    """``findDeviceAndBrickForSet``: first device of the feed that passes.

    Same node as a brick of the set → skip; device filter (strict zones,
    tag rule) → skip; ``free > total`` (``StorageCheck``) or skip.  Devices
    passed over are consumed: each is offered at most once per set.
    """
    rule, strict = job.tag_rule, job.strict
    for device in feed:
        if device.node_id in used_nodes:
            continue
        if strict and device.zone in used_zones:
            continue
        if rule is not None and not rule.matches(device.tags):
            continue
        if device.free_kib - taken.get(device.id, 0) > need[device.extent_kib].total_kib:
            return device
    return None


class _Placer:
    """Places every brick set of one attempt (one ``(num_sets, brick)`` size)."""

    def __init__(self, devices: Sequence[DeviceCandidate], job: PlacementJob,
                 rng: random.Random, id_factory: IdFactory) -> None:
        self.devices = devices
        self.job = job
        self.id_factory = id_factory
        self._rng = rng
        self._rings: _Rings | None = None
        self._capacity = Capacity(devices, job)

    def attempt(self, num_sets: int,
                requirements: list[Requirement]) -> list[list[BrickPlacement]] | _SetFailure:
        """``PlaceAll``; on failure, the set that did not fit (heketi ``ErrNoSpace``)."""
        if not self._capacity.may_fit(requirements):
            return _SetFailure(0, requirements, {}, scanned=False)
        if self._rings is None:
            self._rings = _Rings(self.devices, self.job.arbiter, self._rng)
        needs = {r.role: NeedCache(r.brick_kib, self.job.snapshot_factor) for r in requirements}
        taken: dict[str, int] = {}
        sets: list[list[BrickPlacement]] = []
        for set_index in range(num_sets):
            brick_set = self._place_set(set_index, needs, taken)
            if brick_set is None:
                self._capacity.refine()
                return _SetFailure(set_index, requirements, taken)
            for brick in brick_set:
                taken[brick.device_id] = taken.get(brick.device_id, 0) + brick.total_kib
            sets.append(brick_set)
        return sets

    def _place_set(self, set_index: int, needs: dict[str, NeedCache],
                   taken: Mapping[str, int]) -> list[BrickPlacement] | None:
        """``populateBrickSet`` / ``ArbiterBrickPlacer.newSets`` for one set."""
        assert self._rings is not None
        set_id = self.id_factory()
        feeds = self._rings.feeds(set_id)
        used_nodes: list[str] = []
        used_zones: list[int] = []
        bricks: dict[int, BrickPlacement] = {}
        for position, role in self.job.positions:
            need = needs[role]
            device = _first_fit(feeds[role], self.job, need, taken, used_nodes, used_zones)
            if device is None:
                return None
            used_nodes.append(device.node_id)
            used_zones.append(device.zone)
            space = need[device.extent_kib]
            bricks[position] = BrickPlacement(
                id=set_id if position == 0 else self.id_factory(),
                device_id=device.id,
                node_id=device.node_id,
                set_index=set_index,
                position=position,
                size_kib=need.brick_kib,
                tp_size_kib=space.tp_size_kib,
                pool_metadata_kib=space.pool_metadata_kib,
                total_kib=space.total_kib,
                arbiter=(role == ARBITER),
            )
        return [bricks[position] for position in sorted(bricks)]


def _terminal_kind(sizes: Iterator[tuple[int, int]], job: PlacementJob, spec: VolumeSpec,
                   limits: Limits) -> str:
    """How heketi's loop would end if every remaining size fails too."""
    for num_sets, brick_kib in sizes:
        if num_sets * job.bricks_per_set + spec.existing_bricks > limits.max_bricks_per_volume:
            return "max_bricks"
        if job.arbiter:  # heketi would stop on this error at that size
            arbiter_brick_size_kib(brick_kib, job.average_file_size_kib)
    return "min_brick_size"


def place_volume(
    devices: Sequence[DeviceCandidate],
    spec: VolumeSpec,
    limits: Limits,
    rng: random.Random | None = None,
    id_factory: IdFactory | None = None,
) -> Placement:
    """Choose devices for every brick of a volume (or of an expansion).

    ``devices`` are the online devices on online nodes of one cluster.
    Tries 1, 2, 4 ... brick sets of halving size until all sets fit; raises
    :class:`PlacementError` (message ``No space: <reason>``) when splitting
    stops at the minimum brick size or the maximum brick count, and
    ``ValueError`` for an unusable spec.  Pure: reads nothing, writes nothing.
    """
    job = PlacementJob.from_spec(spec)
    devices = list(devices)
    placer = _Placer(devices, job, rng or random.Random(), id_factory or new_id)
    bps = job.bricks_per_set
    sizes = brick_sizes(spec.size_gib, spec.durability, limits)
    last: tuple[int, _SetFailure] | None = None
    static_checked = False
    kind, too_many = "min_brick_size", 0
    for num_sets, brick_kib in sizes:
        if num_sets * bps + spec.existing_bricks > limits.max_bricks_per_volume:
            kind, too_many = "max_bricks", num_sets * bps
            break
        if not devices:
            raise PlacementError("the cluster has no online devices on online nodes", "no_storage")
        arbiter_kib = (arbiter_brick_size_kib(brick_kib, job.average_file_size_kib)
                       if job.arbiter else None)
        requirements = job.requirements(brick_kib, arbiter_kib)
        result = placer.attempt(num_sets, requirements)
        if not isinstance(result, _SetFailure):
            return Placement(sets=result, brick_size_kib=brick_kib, arbiter_brick_size_kib=arbiter_kib)
        last = (num_sets, result)
        if result.scanned and not static_checked:
            # Tags, node and zone counts do not depend on the brick size:
            # if they rule this size out they rule out all the others.
            static_checked = True
            reason = static_reason(devices, job, requirements)
            if reason is not None:
                raise PlacementError(reason, _terminal_kind(sizes, job, spec, limits))

    if last is None:
        if kind == "max_bricks":
            reason = max_bricks_reason(limits, spec.existing_bricks, too_many, job)
        else:
            reason = min_brick_reason(spec.size_gib,
                                      brick_below_minimum_kib(spec.size_gib, spec.durability, limits),
                                      limits, job)
        raise PlacementError(reason, kind)
    num_sets, failure = last
    reason = None if static_checked else static_reason(devices, job, failure.requirements)
    if reason is not None:
        raise PlacementError(reason, kind)
    reason = space_reason(devices, job, failure.requirements, failure.taken,
                          failure.set_index, num_sets)
    raise PlacementError(reason + stop_note(kind, num_sets, limits), kind)
