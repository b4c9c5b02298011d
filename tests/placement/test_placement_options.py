"""parse_volume_options: the user.heketi.* placement options."""

from __future__ import annotations

import pytest

from pyketi.placement import TagRule, VolumeOptions, parse_volume_options


def test_defaults_with_no_heketi_options():
    options = parse_volume_options(["", "performance.rda-cache-limit 10MB", ""])
    assert options == VolumeOptions(arbiter=False, average_file_size_kib=64,
                                    zone_checking=None, tag_rule=None)
    assert parse_volume_options([]) == VolumeOptions()


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("True", True), ("TRUE", True), ("t", True), ("1", True),
    ("false", False), ("F", False), ("0", False),
])
def test_arbiter_accepts_go_parsebool_spellings(value, expected):
    assert parse_volume_options([f"user.heketi.arbiter {value}"]).arbiter is expected


@pytest.mark.parametrize("entry", ["user.heketi.arbiter yes", "user.heketi.arbiter", "user.heketi.arbiter tru"])
def test_arbiter_rejects_other_values(entry):
    with pytest.raises(ValueError, match="user.heketi.arbiter"):
        parse_volume_options([entry])


def test_average_file_size():
    assert parse_volume_options(["user.heketi.average-file-size 1024"]).average_file_size_kib == 1024


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "64K", "", "١٢"])
def test_average_file_size_rejects_non_positive_integers(value):
    with pytest.raises(ValueError, match="user.heketi.average-file-size"):
        parse_volume_options([f"user.heketi.average-file-size {value}"])


def test_zone_checking():
    assert parse_volume_options(["user.heketi.zone-checking strict"]).zone_checking == "strict"
    assert parse_volume_options(["user.heketi.zone-checking none"]).zone_checking == "none"
    # heketi treats an empty value as "not set"
    assert parse_volume_options(["user.heketi.zone-checking "]).zone_checking is None
    with pytest.raises(ValueError, match="expected none or strict"):
        parse_volume_options(["user.heketi.zone-checking Strict"])


def test_zone_strict_combines_option_and_server_default():
    assert parse_volume_options(["user.heketi.zone-checking strict"]).zone_strict("none")
    assert not parse_volume_options(["user.heketi.zone-checking none"]).zone_strict("strict")
    assert parse_volume_options([]).zone_strict("strict")
    assert not parse_volume_options([]).zone_strict()


def test_device_tag_match():
    options = parse_volume_options(["user.heketi.device-tag-match flavor!=banana"])
    assert options.tag_rule == TagRule("flavor", "banana", negate=True)
    with pytest.raises(ValueError, match="user.heketi.device-tag-match"):
        parse_volume_options(["user.heketi.device-tag-match flavor"])


def test_later_entries_win_and_values_are_trimmed():
    options = parse_volume_options(["user.heketi.arbiter false", "user.heketi.arbiter  true "])
    assert options.arbiter is True


def test_keys_must_match_exactly():
    # heketi splits at the first space: a leading space makes the key "",
    # so this is not the arbiter option (gluster would get it verbatim).
    assert parse_volume_options([" user.heketi.arbiter true"]).arbiter is False
    assert parse_volume_options(["User.Heketi.Arbiter true"]).arbiter is False
