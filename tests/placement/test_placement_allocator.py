"""place_volume: heketi's allocation behaviour and the failure reasons."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from pyketi.placement import (
    DeviceCandidate,
    Durability,
    Limits,
    PlacementError,
    TagRule,
    VolumeSpec,
    place_volume,
    space_needed,
)
from pyketi.placement.ring import balanced_list, rotation_index
from pyketi.placement.sizes import GB, MB

from .builders import MOCK_DEVICE_KIB, cluster

REPLICA3 = Durability("replicate", replica=3)
LIMITS = Limits()


def place(devices, spec, limits=LIMITS, seed=0, **kwargs):
    return place_volume(devices, spec, limits, rng=random.Random(seed), **kwargs)


def failure(devices, spec, limits=LIMITS, seed=0) -> PlacementError:
    with pytest.raises(PlacementError) as info:
        place(devices, spec, limits, seed)
    assert str(info.value).startswith("No space: ")
    return info.value


def assert_sound(placement, devices, spec, zone_strict=False):
    """No set uses a node twice (or a zone twice if strict); nothing overbooked."""
    by_id = {d.id: d for d in devices}
    bps = spec.durability.bricks_per_set
    for index, brick_set in enumerate(placement.sets):
        assert [b.position for b in brick_set] == list(range(bps))
        assert {b.set_index for b in brick_set} == {index}
        nodes = [by_id[b.device_id].node_id for b in brick_set]
        assert len(set(nodes)) == bps
        assert [b.node_id for b in brick_set] == nodes
        if zone_strict:
            assert len({by_id[b.device_id].zone for b in brick_set}) == bps
    for device_id, used in placement.device_usage.items():
        assert used < by_id[device_id].free_kib
    ids = [b.id for b in placement.bricks]
    assert len(set(ids)) == len(ids)


# --- heketi's worked example and basic shapes -------------------------------------


def test_worked_example_10_gib_replica_3():
    devices = cluster(3)
    placement = place(devices, VolumeSpec(10, REPLICA3))
    assert len(placement.sets) == 1
    assert placement.brick_size_kib == 10485760
    assert sorted(b.node_id for b in placement.bricks) == ["n0", "n1", "n2"]
    for brick in placement.bricks:
        assert (brick.size_kib, brick.tp_size_kib, brick.pool_metadata_kib, brick.total_kib) == (
            10485760, 10485760, 53248, 10539008)
        assert not brick.arbiter
    for device_id, used in placement.device_usage.items():
        assert MOCK_DEVICE_KIB - used == 513748992


def test_replica_zero_means_two_bricks_per_set():
    placement = place(cluster(3), VolumeSpec(10, Durability("replicate", replica=0)))
    assert [len(s) for s in placement.sets] == [2]
    assert len({b.node_id for b in placement.bricks}) == 2


def test_disperse_4_2_bricks_are_a_quarter_of_the_volume():
    devices = cluster(6)
    spec = VolumeSpec(100, Durability("disperse", data=4, redundancy=2))
    placement = place(devices, spec)
    assert placement.brick_size_kib == 100 * GB // 4
    assert [len(s) for s in placement.sets] == [6]
    assert_sound(placement, devices, spec)


def test_distribute_has_one_brick_per_set():
    placement = place(cluster(1, 2), VolumeSpec(10, Durability("none")))
    assert [len(s) for s in placement.sets] == [1]
    assert placement.bricks[0].size_kib == 10 * GB


def test_snapshot_factor_grows_the_thin_pool_not_the_brick():
    placement = place(cluster(3), VolumeSpec(10, REPLICA3, snapshot_factor=1.5))
    brick = placement.bricks[0]
    assert (brick.size_kib, brick.tp_size_kib, brick.pool_metadata_kib, brick.total_kib) == (
        10 * GB, 15728640, 81920, 15810560)


def test_snapshot_factor_is_a_go_float32():
    # 10 GiB x 1.3 is 13631488.000000002 in float64 but 13631487.5 with
    # heketi's float32 factor; with 1 KiB extents the difference shows.
    devices = [DeviceCandidate(f"d{n}", f"n{n}", 1, MOCK_DEVICE_KIB, extent_kib=1) for n in range(3)]
    placement = place(devices, VolumeSpec(10, REPLICA3, snapshot_factor=1.3))
    assert {b.tp_size_kib for b in placement.bricks} == {13631487}


def test_device_extent_size_is_used_per_device():
    devices = [DeviceCandidate(f"d{n}", f"n{n}", 1, MOCK_DEVICE_KIB, extent_kib=32 * MB)
               for n in range(3)]
    placement = place(devices, VolumeSpec(10, REPLICA3))
    # 0.5 % of 10 GiB is 51.2 MiB: two 32 MiB extents
    assert {b.pool_metadata_kib for b in placement.bricks} == {64 * MB}
    assert {b.total_kib for b in placement.bricks} == {10 * GB + 64 * MB}


# --- splitting into brick sets ---------------------------------------------------------


def test_splits_into_two_sets_when_no_device_holds_the_whole_brick():
    devices = cluster(3, devices_per_node=2, free_kib=100 * GB)
    spec = VolumeSpec(150, REPLICA3)
    placement = place(devices, spec)
    assert len(placement.sets) == 2
    assert placement.brick_size_kib == 75 * GB
    assert len(placement.bricks) == 6
    assert_sound(placement, devices, spec)
    # each 100 GiB device can hold only one 75 GiB brick
    assert len(placement.device_usage) == 6


def test_splits_into_four_sets():
    devices = cluster(3, devices_per_node=4, free_kib=100 * GB)
    spec = VolumeSpec(300, REPLICA3)
    placement = place(devices, spec)
    assert (len(placement.sets), placement.brick_size_kib) == (4, 75 * GB)
    assert_sound(placement, devices, spec)


def test_starts_with_more_sets_when_bricks_exceed_the_maximum_brick_size():
    devices = cluster(3, free_kib=20 * 1024 * GB)
    placement = place(devices, VolumeSpec(5 * 1024, REPLICA3))
    assert len(placement.sets) == 2
    assert placement.brick_size_kib == 2560 * GB


def test_space_used_by_earlier_sets_is_not_offered_again():
    # 6 single-device nodes of 60 GiB: a 50 GiB brick fits once per device,
    # so the two sets must use six different devices.
    devices = cluster(6, free_kib=60 * GB)
    spec = VolumeSpec(100, REPLICA3)
    placement = place(devices, spec)
    assert len(placement.sets) == 2
    assert placement.device_usage == {d.id: space_needed(50 * GB, 1.0, 4096).total_kib for d in devices}


def test_a_device_must_have_strictly_more_free_than_needed():
    need = space_needed(10 * GB, 1.0, 4096).total_kib
    exact = [DeviceCandidate(f"d{n}", f"n{n}", 1, need) for n in range(3)]
    more = [DeviceCandidate(f"d{n}", f"n{n}", 1, need + 1) for n in range(3)]
    assert len(place(more, VolumeSpec(10, REPLICA3)).sets) == 1
    # with exactly `need` free not even the first brick fits (nor smaller
    # ones: splitting adds metadata per brick)
    failure(exact, VolumeSpec(10, REPLICA3))


@pytest.mark.parametrize("seed", range(30))
def test_random_topologies_never_overbook_or_share_a_node(seed):
    rng = random.Random(seed)
    devices = [
        DeviceCandidate(f"n{n}d{d}", f"n{n}", n % 3 + 1, rng.randint(5, 400) * GB)
        for n in range(rng.randint(3, 9)) for d in range(rng.randint(1, 4))
    ]
    kind = rng.choice(["replicate", "disperse", "none"])
    durability = {"replicate": Durability("replicate", replica=rng.choice([0, 2, 3])),
                  "disperse": Durability("disperse", data=2, redundancy=1),
                  "none": Durability("none")}[kind]
    spec = VolumeSpec(rng.randint(1, 900), durability, snapshot_factor=rng.choice([1.0, 1.5]),
                      zone_strict=rng.random() < 0.3)
    try:
        placement = place(devices, spec, seed=seed)
    except PlacementError as error:
        assert str(error).startswith("No space: ")
        return
    assert_sound(placement, devices, spec, zone_strict=spec.zone_strict)
    total = sum(len(s) for s in placement.sets)
    assert total <= LIMITS.max_bricks_per_volume


# --- ring order ---------------------------------------------------------------------------


def test_first_brick_goes_to_the_ring_position_of_the_set_id():
    devices = cluster(5, devices_per_node=3)
    ring = balanced_list(devices, random.Random(11))  # same rng draws as place_volume
    for set_id in ["0000000" + "0" * 25, "0000005" + "f" * 25, "abcdef1" + "2" * 25]:
        ids = iter([set_id] + [f"{i:032x}" for i in range(1, 10)])
        placement = place(devices, VolumeSpec(10, REPLICA3), seed=11, id_factory=lambda: next(ids))
        start = rotation_index(set_id, len(ring))
        rotated = ring[start:] + ring[:start]
        # each position takes the next device on a node not yet in the set
        expected, nodes = [], set()
        for device in rotated:
            if device.node_id not in nodes:
                expected.append(device.id)
                nodes.add(device.node_id)
            if len(expected) == 3:
                break
        assert [b.device_id for b in placement.bricks] == expected
        assert placement.bricks[0].id == set_id


def test_ids_come_from_the_factory_and_default_to_32_hex():
    placement = place(cluster(3), VolumeSpec(10, REPLICA3))
    assert all(re.fullmatch(r"[0-9a-f]{32}", b.id) for b in placement.bricks)


def test_same_seed_same_placement():
    devices = cluster(20, devices_per_node=4, zones=3)

    def run():
        ids = random.Random(99)
        return place(devices, VolumeSpec(1000, REPLICA3), seed=3,
                     id_factory=lambda: f"{ids.getrandbits(128):032x}")

    first, second = run(), run()
    assert len(first.sets) == 4
    assert [b.device_id for b in first.bricks] == [b.device_id for b in second.bricks]


def test_placement_spreads_over_the_cluster():
    devices = cluster(12, devices_per_node=2, zones=3)
    used = Counter()
    for seed in range(200):
        for brick in place(devices, VolumeSpec(10, REPLICA3), seed=seed).bricks:
            used[brick.node_id] += 1
    assert len(used) == 12
    assert min(used.values()) > 20  # 600 bricks over 12 nodes: about 50 each


# --- zones ----------------------------------------------------------------------------------


def test_strict_zones_with_three_zones_puts_each_brick_in_its_own_zone():
    devices = cluster(9, zones=3)
    spec = VolumeSpec(10, REPLICA3, zone_strict=True)
    for seed in range(20):
        assert_sound(place(devices, spec, seed=seed), devices, spec, zone_strict=True)


def test_strict_zones_with_two_zones_fails_with_the_reason():
    error = failure(cluster(6, zones=2), VolumeSpec(10, REPLICA3, zone_strict=True))
    assert str(error) == "No space: zone checking is strict and replica 3 needs 3 zones, cluster has 2"
    # heketi keeps halving until the brick-count limit: 16 sets would be 48 bricks
    assert error.kind == "min_brick_size"


def test_zone_checking_none_allows_two_bricks_in_one_zone():
    devices = cluster(3, zones=2)
    placement = place(devices, VolumeSpec(10, REPLICA3))
    assert len({d.zone for d in devices}) == 2
    assert len(placement.bricks) == 3


# --- tags -------------------------------------------------------------------------------------


def test_tag_rule_equal_uses_only_matching_devices():
    devices = cluster(4, tags={"disk": "hdd"}) + cluster(3, tags={"disk": "ssd"}, node_prefix="s")
    spec = VolumeSpec(10, REPLICA3, tag_rule=TagRule.parse("disk=ssd"))
    for seed in range(10):
        placement = place(devices, spec, seed=seed)
        assert {b.node_id for b in placement.bricks} == {"s0", "s1", "s2"}


def test_tag_rule_not_equal_excludes_devices():
    devices = cluster(3) + cluster(3, tags={"builtinvols": "disabled"}, node_prefix="x")
    spec = VolumeSpec(10, REPLICA3, tag_rule=TagRule.parse("builtinvols!=disabled"))
    for seed in range(10):
        assert {b.node_id for b in place(devices, spec, seed=seed).bricks} == {"n0", "n1", "n2"}


def test_tag_rule_matching_nothing():
    error = failure(cluster(3, tags={"disk": "hdd"}), VolumeSpec(10, REPLICA3, tag_rule=TagRule.parse("disk=ssd")))
    assert str(error) == "No space: no device matches tag rule disk=ssd"


def test_tag_rule_matching_too_few_nodes():
    devices = cluster(2, tags={"disk": "ssd"}) + cluster(3, node_prefix="h")
    error = failure(devices, VolumeSpec(10, REPLICA3, tag_rule=TagRule.parse("disk=ssd")))
    assert str(error) == ("No space: replica 3 needs bricks on 3 different nodes, but only 2 online "
                          "nodes have devices matching tag rule disk=ssd")


# --- arbiter ------------------------------------------------------------------------------------


def test_arbiter_sizes_and_position():
    devices = cluster(3)
    placement = place(devices, VolumeSpec(100, REPLICA3, arbiter=True))
    assert placement.brick_size_kib == 100 * GB
    assert placement.arbiter_brick_size_kib == 100 * GB // 64
    data0, data1, arbiter = placement.sets[0]
    assert (data0.arbiter, data1.arbiter, arbiter.arbiter) == (False, False, True)
    assert (data0.size_kib, data1.size_kib, arbiter.size_kib) == (100 * GB, 100 * GB, 1638400)
    assert arbiter.total_kib == space_needed(1638400, 1.0, 4096).total_kib
    assert len({b.node_id for b in placement.bricks}) == 3


def test_arbiter_set_is_filled_from_position_2_down():
    # Untagged devices are in the "any" ring, which feeds both roles; the
    # arbiter (position 2) is placed first, so it takes the rotation start.
    devices = cluster(3)
    ring = balanced_list(devices, random.Random(4))
    set_id = "0000002" + "0" * 25
    ids = iter([set_id, "b" * 32, "c" * 32])
    placement = place(devices, VolumeSpec(100, REPLICA3, arbiter=True), seed=4,
                      id_factory=lambda: next(ids))
    start = rotation_index(set_id, 3)
    rotated = ring[start:] + ring[:start]
    assert [b.device_id for b in reversed(placement.sets[0])] == [d.id for d in rotated]
    assert placement.sets[0][0].id == set_id


def test_arbiter_average_file_size_and_16_mib_floor():
    placement = place(cluster(3), VolumeSpec(10, REPLICA3, arbiter=True, average_file_size_kib=1024))
    assert placement.sets[0][2].size_kib == 16 * MB  # 10 GiB / 1024 = 10 MiB, raised


def test_arbiter_brick_goes_to_required_or_supported_devices_only():
    devices = (cluster(2, tags={"arbiter": "disabled"}, node_prefix="data")
               + cluster(1, tags={"arbiter": "required"}, node_prefix="arb"))
    for seed in range(20):
        placement = place(devices, VolumeSpec(100, REPLICA3, arbiter=True), seed=seed)
        data0, data1, arbiter = placement.sets[0]
        assert arbiter.node_id == "arb0"
        assert {data0.node_id, data1.node_id} == {"data0", "data1"}


def test_arbiter_prefers_required_devices_over_supported_ones():
    devices = cluster(3) + cluster(1, tags={"arbiter": "required"}, node_prefix="arb")
    for seed in range(20):
        placement = place(devices, VolumeSpec(100, REPLICA3, arbiter=True), seed=seed)
        assert placement.sets[0][2].node_id == "arb0"
        assert "arb0" not in {b.node_id for b in placement.sets[0][:2]}


def test_arbiter_without_arbiter_capable_devices():
    error = failure(cluster(4, tags={"arbiter": "disabled"}), VolumeSpec(100, REPLICA3, arbiter=True))
    assert str(error) == "No space: no device can hold arbiter bricks: every one is tagged arbiter=disabled"


def test_arbiter_without_data_capable_devices():
    error = failure(cluster(4, tags={"arbiter": "required"}), VolumeSpec(100, REPLICA3, arbiter=True))
    assert str(error) == "No space: no device can hold data bricks: every one is tagged arbiter=required"


def test_arbiter_with_too_few_data_nodes():
    devices = cluster(2, tags={"arbiter": "required"}) + cluster(1, tags={"arbiter": "disabled"}, node_prefix="d")
    error = failure(devices, VolumeSpec(100, REPLICA3, arbiter=True))
    assert str(error) == ("No space: replica 3 arbiter needs 2 data bricks on different nodes, but only "
                          "1 online node has devices that can hold data bricks")


def test_arbiter_failures_are_explained_honestly():
    # "any" devices a (large) and c (small, arbiter-sized only) plus a data-only
    # device b: if the arbiter feed offers a first, the data bricks cannot fit.
    devices = [DeviceCandidate("a", "na", 1, 100 * GB), DeviceCandidate("c", "nc", 1, 2 * GB),
               DeviceCandidate("b", "nb", 1, 100 * GB, tags={"arbiter": "disabled"})]
    outcomes = set()
    for seed in range(40):
        try:
            placement = place(devices, VolumeSpec(60, REPLICA3, arbiter=True), seed=seed)
        except PlacementError as error:
            outcomes.add("error")
            assert "the arbiter brick is placed first" in str(error)
        else:
            outcomes.add("placed")
            assert placement.sets[0][2].device_id == "c"
    assert outcomes == {"error", "placed"}  # heketi's greedy arbiter placement is order-dependent


def test_arbiter_requires_replica_3():
    with pytest.raises(ValueError, match="replica 3"):
        place(cluster(3), VolumeSpec(10, Durability("replicate", replica=2), arbiter=True))


def test_arbiter_average_file_size_larger_than_the_brick():
    with pytest.raises(ValueError, match=r"Average file size \(2097152\) is greater than Brick size"):
        place(cluster(3), VolumeSpec(1, REPLICA3, arbiter=True, average_file_size_kib=2 * GB))


# --- limits and failure reasons ------------------------------------------------------------------


def test_too_few_nodes_for_the_replica_count():
    error = failure(cluster(2, devices_per_node=5), VolumeSpec(10, REPLICA3))
    assert str(error) == ("No space: replica 3 needs bricks on 3 different nodes, "
                          "but only 2 online nodes have devices")
    assert error.kind == "min_brick_size"
    assert error.heketi_message == "Minimum brick size limit reached.  Out of space."


def test_existing_bricks_count_toward_the_maximum():
    error = failure(cluster(3), VolumeSpec(10, REPLICA3, existing_bricks=30))
    assert str(error) == ("No space: maximum number of bricks (32) reached: "
                          "the volume already has 30 bricks and needs 3 more")
    assert error.kind == "max_bricks"
    assert error.heketi_message == "Maximum number of bricks reached."
    assert len(place(cluster(3), VolumeSpec(10, REPLICA3, existing_bricks=29)).bricks) == 3


def test_maximum_bricks_on_the_first_size_tried():
    # 5 TiB bricks exceed the 4 TiB maximum: the first size tried is 2 sets
    error = failure(cluster(3, free_kib=20 * 1024 * GB), VolumeSpec(5 * 1024, REPLICA3),
                    Limits(max_bricks_per_volume=4))
    assert str(error) == "No space: maximum number of bricks (4) reached: replica 3 needs 6 bricks"


def test_largest_device_too_small_until_the_minimum_brick_size():
    devices = cluster(3, free_kib=40 * GB)
    limits = Limits(brick_min_kib=50 * GB, max_bricks_per_volume=100)
    error = failure(devices, VolumeSpec(800, REPLICA3), limits)
    assert str(error) == ("No space: largest free device has 40 GiB but each of 3 bricks needs 50.3 GiB "
                          "(tried splitting into up to 16 brick sets; minimum brick size 50 GiB)")
    assert error.kind == "min_brick_size"


def test_splitting_stopped_by_the_maximum_number_of_bricks():
    devices = cluster(3, free_kib=40 * GB)
    error = failure(devices, VolumeSpec(800, REPLICA3))
    # 8 sets of 100 GiB were tried; 16 sets would be 48 bricks
    assert str(error) == ("No space: largest free device has 40 GiB but each of 3 bricks needs 100.5 GiB "
                          "(tried splitting into up to 8 brick sets; maximum number of bricks (32) reached)")
    assert error.kind == "max_bricks"


def test_free_space_running_out_across_sets_is_reported():
    # 100 GiB devices on 3 nodes cannot hold 3 copies of 100 GiB however split:
    # with 8 sets of 12.5 GiB each device fits 7 bricks.
    error = failure(cluster(3, free_kib=100 * GB), VolumeSpec(100, REPLICA3))
    assert str(error) == ("No space: after placing 7 of 8 brick sets, largest free device has 12.1 GiB "
                          "but each of 3 bricks needs 12.6 GiB "
                          "(tried splitting into up to 8 brick sets; maximum number of bricks (32) reached)")


def test_too_few_nodes_with_enough_space():
    devices = cluster(2, free_kib=700 * GB) + cluster(1, free_kib=10 * GB, node_prefix="small")
    limits = Limits(brick_min_kib=100 * GB)
    error = failure(devices, VolumeSpec(600, REPLICA3), limits)
    assert str(error) == ("No space: only 2 nodes have a device with more than 150.8 GiB free, but "
                          "replica 3 needs 3 bricks of 150.8 GiB on different nodes "
                          "(tried splitting into up to 4 brick sets; minimum brick size 100 GiB)")


def test_equal_looking_sizes_are_printed_exactly():
    error = failure(cluster(1, free_kib=GB), VolumeSpec(1, Durability("none")))
    assert str(error) == ("No space: largest free device has 1048576 KiB but each brick needs 1056768 KiB "
                          "(could not split into more brick sets: minimum brick size 1 GiB)")


def test_snapshot_factor_is_mentioned_when_it_matters():
    error = failure(cluster(3, free_kib=12 * GB), VolumeSpec(10, REPLICA3, snapshot_factor=2.0),
                    Limits(brick_min_kib=10 * GB))
    assert str(error) == ("No space: largest free device has 12 GiB but each of 3 bricks needs 20.1 GiB "
                          "with snapshot factor 2 (could not split into more brick sets: minimum brick size 10 GiB)")


def test_volume_below_the_minimum_brick_size():
    error = failure(cluster(6), VolumeSpec(2, Durability("disperse", data=4, redundancy=2)))
    assert str(error) == ("No space: 2 GiB as disperse 4+2 gives bricks of 512 MiB, "
                          "below the minimum brick size 1 GiB")
    assert error.kind == "min_brick_size"


def test_no_devices_at_all():
    error = failure([], VolumeSpec(10, REPLICA3))
    assert error.kind == "no_storage"
    assert error.heketi_message == "No online storage devices in cluster"


def test_unknown_durability_type():
    with pytest.raises(ValueError, match="^Unknown durability type$"):
        place(cluster(3), VolumeSpec(10, Durability("mirror")))
