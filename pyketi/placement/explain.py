"""Why a placement failed, in plain words, computed from the candidates.

heketi only says ``No space`` (its most reported complaint, often with plenty
of free space in the cluster).  When the halving loop gives up we look at the
state the last attempt failed in and name the first constraint that cannot
be met: tag rule, arbiter tags, node count, strict zones, device sizes.

The order of the checks follows the placer's own filters (``tryAllocateBrickOnDevice``:
same node, then the device filter, then ``StorageCheck``).  For the standard
placer the first-fit scan finds a set whenever one exists (the node/zone
constraint is a partition matroid), so one of these checks always explains
a failure; the arbiter placer can also fail because it places the arbiter
brick first, which gets its own message.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from pyketi.placement.errors import format_kib, format_kib_pair, plural, verb
from pyketi.placement.model import DeviceCandidate, Limits
from pyketi.placement.requirements import ARBITER, NeedCache, PlacementJob, Requirement
from pyketi.placement.tags import TagRule


def _scope(job: PlacementJob) -> str:
    return "" if job.tag_rule is None else f" matching tag rule {job.tag_rule}"


def _holding(requirement: Requirement, job: PlacementJob) -> str:
    """`` that can hold data bricks`` for the arbiter roles, else nothing."""
    return f" that can hold {requirement.noun}s" if job.arbiter else ""


def _zones_needed(job: PlacementJob, count: int, what: str) -> str:
    return f"zone checking is strict and {job.description} needs {what} in {count} zones"


def _eligible(devices: Sequence[DeviceCandidate], requirement: Requirement | None,
              rule: TagRule | None) -> Sequence[DeviceCandidate]:
    """Devices passing the tag rule (and holding the role's bricks, if given)."""
    if rule is None and (requirement is None or requirement.accepts is None):
        return devices
    if requirement is None:
        return [d for d in devices if rule is None or rule.matches(d.tags)]
    return [d for d in devices if requirement.eligible(d, rule)]


def static_reason(devices: Sequence[DeviceCandidate], job: PlacementJob,
                  requirements: Sequence[Requirement]) -> str | None:
    """A constraint that fails whatever the brick size (tags, nodes, zones).

    ``None`` when the devices could hold a brick set given enough space.
    """
    rule, scope, bps = job.tag_rule, _scope(job), job.bricks_per_set
    matching = _eligible(devices, None, rule)
    if not matching:
        return f"no device matches tag rule {rule}"
    nodes = {d.node_id for d in matching}
    if len(nodes) < bps:
        return (f"{job.description} needs bricks on {bps} different nodes, but only "
                f"{plural(len(nodes), 'online node')} {verb(len(nodes), 'has', 'have')} devices{scope}")
    zones = {d.zone for d in matching} if job.strict else set()
    if job.strict and len(zones) < bps:
        if rule is None:
            return (f"zone checking is strict and {job.description} needs {bps} zones, "
                    f"cluster has {len(zones)}")
        return (f"{_zones_needed(job, bps, 'its bricks')}, but only {plural(len(zones), 'zone')} "
                f"{verb(len(zones), 'has', 'have')} devices{scope}")
    for requirement in requirements:
        if requirement.accepts is None:
            continue  # same devices as above: already checked
        eligible = _eligible(matching, requirement, None)
        if not eligible:
            tag_value = "disabled" if requirement.role == ARBITER else "required"
            return (f"no device{scope} can hold {requirement.noun}s: "
                    f"every one is tagged arbiter={tag_value}")
        role_nodes = {d.node_id for d in eligible}
        if len(role_nodes) < requirement.count:
            return (f"{job.description} needs {requirement.count} {requirement.noun}s on different "
                    f"nodes, but only {plural(len(role_nodes), 'online node')} "
                    f"{verb(len(role_nodes), 'has', 'have')} devices{scope}{_holding(requirement, job)}")
        role_zones = {d.zone for d in eligible}
        if job.strict and len(role_zones) < requirement.count:
            return (f"{_zones_needed(job, requirement.count, f'its {requirement.noun}s')}, but only "
                    f"{plural(len(role_zones), 'zone')} {verb(len(role_zones), 'has', 'have')} "
                    f"devices{scope}{_holding(requirement, job)}")
    return None


def _each(requirement: Requirement, job: PlacementJob) -> str:
    if requirement.count == 1:
        return f"{'the' if job.arbiter else 'each'} {requirement.noun}"
    if job.arbiter:
        return f"each {requirement.noun}"
    return f"each of {requirement.count} {requirement.noun}s"


def _space_reason(devices: Sequence[DeviceCandidate], job: PlacementJob,
                  requirements: Sequence[Requirement], taken: Mapping[str, int]) -> str | None:
    """Constraints that fail because devices lack free space right now."""
    rule, scope = job.tag_rule, _scope(job)
    fit_nodes: set[str] = set()
    fit_zones: set[int] = set()

    def free(device: DeviceCandidate) -> int:
        return device.free_kib - taken.get(device.id, 0)

    for requirement in requirements:
        needs = NeedCache(requirement.brick_kib, job.snapshot_factor)
        eligible = _eligible(devices, requirement, rule)
        totals = {extent: needs[extent].total_kib for extent in {d.extent_kib for d in eligible}}
        fit = [d for d in eligible if d.free_kib - taken.get(d.id, 0) > totals[d.extent_kib]]
        holding = _holding(requirement, job)
        if not fit:
            best = max(eligible, key=free)
            have, need = format_kib_pair(free(best), totals[best.extent_kib])
            note = ""
            if job.snapshot_factor_shown != 1:
                note = f" with snapshot factor {job.snapshot_factor_shown:g}"
            return (f"largest free device{scope}{holding} has {have} but "
                    f"{_each(requirement, job)} needs {need}{note}")
        need = format_kib(min(totals.values()))
        nodes = {d.node_id for d in fit}
        zones = {d.zone for d in fit}
        if len(nodes) < requirement.count:
            return (f"only {plural(len(nodes), 'node')} {verb(len(nodes), 'has', 'have')} a "
                    f"device{scope}{holding} with more than {need} free, but {job.description} "
                    f"needs {requirement.count} {requirement.noun}s of {need} on different nodes")
        if job.strict and len(zones) < requirement.count:
            return (f"only {plural(len(zones), 'zone')} {verb(len(zones), 'has', 'have')} a "
                    f"device{scope}{holding} with more than {need} free, but "
                    f"{_zones_needed(job, requirement.count, f'its {requirement.noun}s')}")
        fit_nodes |= nodes
        fit_zones |= zones
    bps = job.bricks_per_set
    if len(fit_nodes) < bps:
        return (f"only {plural(len(fit_nodes), 'node')} {verb(len(fit_nodes), 'has', 'have')} "
                f"a device{scope} with room for a brick, but {job.description} needs "
                f"{bps} different nodes")
    if job.strict and len(fit_zones) < bps:
        return (f"only {plural(len(fit_zones), 'zone')} {verb(len(fit_zones), 'has', 'have')} "
                f"a device{scope} with room for a brick, but {_zones_needed(job, bps, 'its bricks')}")
    return None


def space_reason(devices: Sequence[DeviceCandidate], job: PlacementJob,
                 requirements: Sequence[Requirement], taken: Mapping[str, int],
                 set_index: int, num_sets: int) -> str:
    """Reason brick set ``set_index`` could not be placed, when
    :func:`static_reason` found nothing: free space (or arbiter ordering).

    ``taken`` is the KiB already allocated per device by the earlier sets of
    the same attempt.
    """
    reason = _space_reason(devices, job, requirements, taken)
    if reason is not None:
        if set_index > 0:
            reason = f"after placing {set_index} of {num_sets} brick sets, {reason}"
        return reason
    if job.arbiter:
        return (f"could not place brick set {set_index + 1} of {num_sets}: the arbiter brick is "
                "placed first and took a node or zone the data bricks needed")
    return (f"could not place brick set {set_index + 1} of {num_sets} on "
            f"{job.bricks_per_set} different nodes")


def stop_note(kind: str, last_sets: int, limits: Limits) -> str:
    """Why the halving loop stopped, appended to the last attempt's reason."""
    if kind == "min_brick_size":
        limit = f"minimum brick size {format_kib(limits.brick_min_kib)}"
    else:
        limit = f"maximum number of bricks ({limits.max_bricks_per_volume}) reached"
    if last_sets <= 1:
        return f" (could not split into more brick sets: {limit})"
    return f" (tried splitting into up to {last_sets} brick sets; {limit})"


def max_bricks_reason(limits: Limits, existing: int, needed: int, job: PlacementJob) -> str:
    """The first size tried already has too many bricks (heketi ``ErrMaxBricks``)."""
    reason = f"maximum number of bricks ({limits.max_bricks_per_volume}) reached"
    if existing:
        return f"{reason}: the volume already has {plural(existing, 'brick')} and needs {needed} more"
    return f"{reason}: {job.description} needs {needed} bricks"


def min_brick_reason(size_gib: int, brick_kib: int, limits: Limits, job: PlacementJob) -> str:
    """Even unsplit, bricks are below the minimum (heketi ``ErrMinimumBrickSize``)."""
    return (f"{size_gib} GiB as {job.description} gives bricks of {format_kib(brick_kib)}, "
            f"below the minimum brick size {format_kib(limits.brick_min_kib)}")
