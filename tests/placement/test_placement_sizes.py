"""Sizes: brick-size generator, SpaceNeeded, arbiter discount, minimums."""

from __future__ import annotations

import pytest

from pyketi.placement import (
    Durability,
    Limits,
    arbiter_brick_size_kib,
    brick_sizes,
    min_volume_size_kib,
    space_needed,
)
from pyketi.placement.sizes import GB, MB, TB, go_float32, least_space_needed

REPLICA3 = Durability("replicate", replica=3)


def test_space_needed_matches_heketi_worked_example():
    # spec §5.3: 10 GiB brick, snapshots off, extent 4096.
    need = space_needed(10485760, 1.0, 4096)
    assert need == (10485760, 53248, 10539008)
    assert (need.tp_size_kib, need.pool_metadata_kib, need.total_kib) == (10485760, 53248, 10539008)
    assert 524288000 - need.total_kib == 513748992


def test_space_needed_rounds_pool_and_metadata_up_to_extent():
    need = space_needed(1000, 1.0, 4096)
    # tp 1000 -> 4096; meta int(4096 * 0.005) = 20 -> 4096
    assert need == (4096, 4096, 8192)
    # an extent of 1 KiB leaves the raw numbers
    assert space_needed(1000, 1.0, 1) == (1000, 5, 1005)


def test_space_needed_caps_metadata_at_16_gib():
    need = space_needed(4 * TB, 1.0, 4096)
    assert need.tp_size_kib == 4 * TB
    assert need.pool_metadata_kib == 16 * GB  # 0.5 % would be 20 GiB
    assert need.total_kib == 4 * TB + 16 * GB


def test_space_needed_applies_snapshot_factor_to_the_pool_only():
    need = space_needed(10 * GB, 1.5, 4096)
    assert need.tp_size_kib == 15728640
    # int(15728640 * 0.005) = 78643 -> rounded up to 81920
    assert need.pool_metadata_kib == 81920
    assert need.total_kib == 15810560


def test_space_needed_rejects_a_zero_extent():
    with pytest.raises(ValueError):
        space_needed(GB, 1.0, 0)


@pytest.mark.parametrize("brick", [1000, 10 * GB, 4 * TB, 123456789])
@pytest.mark.parametrize("factor", [1.0, 1.5, go_float32(1.3)])
def test_least_space_needed_is_a_lower_bound(brick, factor):
    bound = least_space_needed(brick, factor)
    for extent in (1, 3, 4096, 32768):
        assert bound <= space_needed(brick, factor, extent).total_kib
    assert bound == space_needed(brick, factor, 1).total_kib


def test_go_float32_matches_a_go_float32_field():
    assert go_float32(1.5) == 1.5
    assert go_float32(1.1) == 1.100000023841858
    assert go_float32(1.3) == 1.2999999523162842


def test_brick_sizes_halve_until_the_minimum():
    sizes = list(brick_sizes(100, REPLICA3, Limits()))
    assert sizes == [
        (1, 100 * GB), (2, 50 * GB), (4, 25 * GB), (8, 13107200),
        (16, 6553600), (32, 3276800), (64, 1638400),
    ]
    # 128 sets would give 800 MiB bricks, below the 1 GiB minimum


def test_brick_sizes_divide_by_data_bricks_for_disperse():
    # heketi's TestDisperseDurability: 8+3, 200 GB
    sizes = list(brick_sizes(200, Durability("disperse", data=8, redundancy=3), Limits()))
    assert sizes[:3] == [(1, 200 * GB // 8), (2, 100 * GB // 8), (4, 50 * GB // 8)]
    assert all(brick >= GB for _, brick in sizes)
    assert sizes[-1] == (16, 200 * GB // 16 // 8)


def test_brick_sizes_skip_bricks_above_the_maximum():
    sizes = list(brick_sizes(10 * 1024, REPLICA3, Limits()))
    # 10 TiB: 1 set (10 TiB) and 2 sets (5 TiB) exceed 4 TiB and are never tried
    assert sizes[0] == (4, 10 * TB // 4)


def test_brick_sizes_respect_configured_limits():
    limits = Limits(brick_min_kib=50 * GB, brick_max_kib=400 * GB)
    assert list(brick_sizes(800, REPLICA3, limits)) == [(2, 400 * GB), (4, 200 * GB), (8, 100 * GB),
                                                        (16, 50 * GB)]


def test_brick_sizes_empty_when_volume_is_below_the_minimum():
    assert list(brick_sizes(2, Durability("disperse", data=4, redundancy=2), Limits())) == []
    assert list(brick_sizes(0, REPLICA3, Limits())) == []


def test_min_volume_size():
    assert min_volume_size_kib(REPLICA3, Limits()) == GB
    assert min_volume_size_kib(Durability("none"), Limits()) == GB
    assert min_volume_size_kib(Durability("disperse", data=4, redundancy=2), Limits()) == 4 * GB
    assert min_volume_size_kib(Durability("disperse", data=8, redundancy=3),
                               Limits(brick_min_kib=2 * GB)) == 16 * GB


def test_arbiter_brick_size_divides_by_average_file_size():
    assert arbiter_brick_size_kib(100 * GB) == 100 * GB // 64 == 1638400
    assert arbiter_brick_size_kib(100 * GB, 128) == 819200


def test_arbiter_brick_size_has_a_16_mib_floor():
    assert arbiter_brick_size_kib(GB) == 16 * MB  # exactly 16384
    assert arbiter_brick_size_kib(GB, 1024) == 16 * MB  # 1024 raised to 16 MiB
    assert arbiter_brick_size_kib(2 * GB, 1024) == 16 * MB
    assert arbiter_brick_size_kib(20 * GB, 1024) == 20 * MB


def test_arbiter_brick_size_refuses_average_file_size_above_brick_size():
    with pytest.raises(ValueError, match=r"^Average file size \(2097152\) is greater than Brick size \(1048576\)$"):
        arbiter_brick_size_kib(GB, 2 * GB)
