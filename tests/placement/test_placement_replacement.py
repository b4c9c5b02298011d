"""Where a brick that must leave its device goes, and why it cannot (pure)."""

import pytest

from pyketi.placement import DeviceCandidate, space_needed
from pyketi.placement.replacement import BrickToMove, NoReplacement, choose

GIB = 1024 * 1024


def _need(c):
    return space_needed(GIB, 1.0, c.extent_kib)


BRICK = BrickToMove(device_id="d1", node_id="n1", set_nodes=frozenset({"n2", "n3"}),
                    set_zones=frozenset({2, 3}), copies=3, durability="replica 3")


def test_the_device_with_most_free_space_off_the_set_wins():
    devices = [DeviceCandidate("d1", "n1", 1, 100 * GIB), DeviceCandidate("d2", "n2", 2, 90 * GIB),
               DeviceCandidate("d4", "n4", 4, 5 * GIB), DeviceCandidate("d5", "n5", 5, 9 * GIB)]
    best, need = choose(devices, BRICK, _need, strict_zones=False)
    assert best.id == "d5" and need.total_kib > GIB
    # space promised to an earlier move of the same removal counts
    best, _ = choose(devices, BRICK, _need, strict_zones=False, reserved={"d5": 8 * GIB})
    assert best.id == "d4"


def test_no_replacement_says_which_rule_ruled_each_device_out():
    devices = [DeviceCandidate("d2", "n2", 2, 90 * GIB), DeviceCandidate("d3", "n3", 3, 90 * GIB),
               DeviceCandidate("d4", "n4", 2, 90 * GIB), DeviceCandidate("d5", "n5", 5, GIB // 2),
               DeviceCandidate("d6", "n6", 6, 90 * GIB)]
    with pytest.raises(NoReplacement) as e:
        choose(devices, BRICK, _need, strict_zones=True, exclude_node="n6")
    assert str(e.value) == (
        "replica 3 keeps the 3 copies of a brick on 3 different nodes and no other node can "
        "take this copy (online devices ruled out: 3 on a node that holds a copy already or "
        "is being removed; 1 in a zone that holds a copy (strict zone checking); 1 without "
        "room for the brick); add a node or a device, or bring one online")
    with pytest.raises(NoReplacement, match=r"\(no other online device in the cluster\)"):
        choose([DeviceCandidate("d1", "n1", 1, 90 * GIB)], BRICK, _need, strict_zones=False)
