"""Value types: durability rules, tag rules, results, error wording."""

from __future__ import annotations

import pytest

from pyketi.placement import BrickPlacement, Durability, Placement, PlacementError, TagRule
from pyketi.placement.errors import format_kib, format_kib_pair
from pyketi.placement.sizes import GB, MB, TB
from pyketi.placement.tags import arbiter_tag, can_host_arbiter, can_host_data


@pytest.mark.parametrize("durability, bricks", [
    (Durability("replicate", replica=3), 3),
    (Durability("replicate", replica=0), 2),  # DEFAULT_REPLICA
    (Durability("replicate"), 2),
    (Durability("replicate", replica=1), 1),
    (Durability("disperse", data=4, redundancy=2), 6),
    (Durability("disperse", data=8, redundancy=3), 11),
    (Durability("disperse"), 6),  # internal 4+2 default
    (Durability("none"), 1),
    (Durability(""), 1),  # missing type means distribute
])
def test_bricks_per_set(durability, bricks):
    assert durability.bricks_per_set == bricks


def test_unknown_type_has_no_brick_count():
    with pytest.raises(ValueError, match="^Unknown durability type$"):
        Durability("mirror").bricks_per_set


@pytest.mark.parametrize("durability, message", [
    (Durability("mirror"), "Unknown durability type"),
    (Durability("replicate", replica=4), "Invalid replica value"),
    (Durability("disperse", data=3, redundancy=1), "Invalid dispersion combination: 3+1"),
    (Durability("disperse"), "Invalid dispersion combination: 0+0"),
    (Durability("disperse", data=8, redundancy=2), "Invalid dispersion combination: 8+2"),
])
def test_validate_rejects_with_heketi_texts(durability, message):
    with pytest.raises(ValueError) as info:
        durability.validate()
    assert str(info.value) == message


@pytest.mark.parametrize("durability", [
    Durability("replicate", replica=0), Durability("replicate", replica=3), Durability("none"),
    Durability(""), Durability("disperse", data=2, redundancy=1),
    Durability("disperse", data=4, redundancy=2), Durability("disperse", data=8, redundancy=3),
    Durability("disperse", data=8, redundancy=4),
])
def test_validate_accepts(durability):
    durability.validate()


def test_describe():
    assert Durability("replicate", replica=3).describe() == "replica 3"
    assert Durability("replicate").describe() == "replica 2"
    assert Durability("disperse", data=4, redundancy=2).describe() == "disperse 4+2"
    assert Durability("none").describe() == "distribute"


def test_tag_rule_equal():
    rule = TagRule.parse("disk=ssd")
    assert (rule.key, rule.value, rule.negate) == ("disk", "ssd", False)
    assert rule.matches({"disk": "ssd", "x": "y"})
    assert not rule.matches({"disk": "hdd"})
    assert not rule.matches({})
    assert not rule.matches({"disk": "SSD"})  # case sensitive
    assert str(rule) == "disk=ssd"


def test_tag_rule_not_equal():
    rule = TagRule.parse("builtinvols!=disabled")
    assert rule.negate
    assert rule.matches({})  # no such tag: allowed
    assert rule.matches({"builtinvols": "enabled"})
    assert not rule.matches({"builtinvols": "disabled"})
    assert str(rule) == "builtinvols!=disabled"


@pytest.mark.parametrize("text", ["", "disk", "=ssd", "disk=", "disk==ssd", "disk ssd", "di sk=ssd", "a=b=c"])
def test_tag_rule_rejects_bad_syntax(text):
    with pytest.raises(ValueError, match="Invalid device tag match rule"):
        TagRule.parse(text)


def test_tag_rule_accepts_usual_tag_characters():
    rule = TagRule.parse("example.com/tier_1-x=gold.v2")
    assert rule.key == "example.com/tier_1-x" and rule.value == "gold.v2"


def test_arbiter_tag_defaults_to_supported():
    assert arbiter_tag({}) == "supported"
    assert arbiter_tag({"arbiter": "bogus"}) == "supported"
    assert arbiter_tag({"arbiter": "required"}) == "required"
    assert can_host_arbiter({"arbiter": "required"}) and not can_host_data({"arbiter": "required"})
    assert can_host_data({"arbiter": "disabled"}) and not can_host_arbiter({"arbiter": "disabled"})
    assert can_host_arbiter({}) and can_host_data({})


def _brick(bid, device, set_index, position, total):
    return BrickPlacement(id=bid, device_id=device, node_id="n" + device, set_index=set_index,
                          position=position, size_kib=total, tp_size_kib=total,
                          pool_metadata_kib=0, total_kib=total)


def test_placement_bricks_in_set_order_and_device_usage():
    placement = Placement(sets=[[_brick("b", "d1", 0, 0, 10), _brick("a", "d2", 0, 1, 10)],
                                [_brick("c", "d1", 1, 0, 5), _brick("d", "d3", 1, 1, 5)]],
                          brick_size_kib=10)
    assert [b.id for b in placement.bricks] == ["b", "a", "c", "d"]
    assert placement.device_usage == {"d1": 15, "d2": 10, "d3": 5}


def test_placement_error_message_and_heketi_text():
    error = PlacementError("maximum number of bricks (32) reached", "max_bricks")
    assert str(error) == "No space: maximum number of bricks (32) reached"
    assert error.heketi_message == "Maximum number of bricks reached."
    assert PlacementError("x", "min_brick_size").heketi_message == (
        "Minimum brick size limit reached.  Out of space.")
    assert PlacementError("x", "no_storage").heketi_message == "No online storage devices in cluster"
    with pytest.raises(ValueError):
        PlacementError("x", "bogus")


def test_format_kib():
    assert format_kib(40 * GB) == "40 GiB"
    assert format_kib(52690944) == "50.3 GiB"  # 50.25 rounds half up
    assert format_kib(512 * MB) == "512 MiB"
    assert format_kib(4 * TB) == "4 TiB"
    assert format_kib(100) == "100 KiB"


def test_format_kib_pair_never_prints_different_sizes_alike():
    assert format_kib_pair(GB, 1056768) == ("1048576 KiB", "1056768 KiB")
    assert format_kib_pair(40 * GB, 52690944) == ("40 GiB", "50.3 GiB")
    assert format_kib_pair(GB, GB) == ("1 GiB", "1 GiB")
