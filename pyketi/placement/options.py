"""Placement-related volume options (``user.heketi.*``).

Mirrors ``volOptsMap``, ``HasArbiterOption``, ``GetAverageFileSize`` and
``GetZoneCheckingStrategy`` (``volume_entry.go``) plus the tag-match option.
Each entry is ``"<key> <value>"`` split at the first space; a key given
twice keeps its last value; entries that are not heketi options are ignored.

Unlike heketi, which silently falls back to defaults on a bad value (for
example ``user.heketi.arbiter yes`` gives a plain replica volume), invalid
values raise ``ValueError`` so the request can be refused with a clear 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pyketi.placement.sizes import DEFAULT_AVERAGE_FILE_SIZE_KIB
from pyketi.placement.tags import TagRule

ARBITER_KEY = "user.heketi.arbiter"
AVERAGE_FILE_SIZE_KEY = "user.heketi.average-file-size"
ZONE_CHECKING_KEY = "user.heketi.zone-checking"
TAG_MATCH_KEY = "user.heketi.device-tag-match"

ZONE_CHECKING_VALUES = ("none", "strict")

# strconv.ParseBool
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True)
class VolumeOptions:
    """The heketi-specific options found in a volume's option list."""

    arbiter: bool = False
    average_file_size_kib: int = DEFAULT_AVERAGE_FILE_SIZE_KIB
    zone_checking: str | None = None
    tag_rule: TagRule | None = None

    def zone_strict(self, server_default: str = "none") -> bool:
        """Strict zone checking: the volume option, else the server setting."""
        return (self.zone_checking or server_default) == "strict"


def _parse_bool(value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"Invalid value {value!r} for {ARBITER_KEY}: expected true or false")


def _parse_average_file_size(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) == 0:
        raise ValueError(
            f"Invalid value {value!r} for {AVERAGE_FILE_SIZE_KEY}: "
            "expected a positive whole number of KiB"
        )
    return int(value)


def _parse_zone_checking(value: str) -> str | None:
    if value == "":
        return None  # GetZoneCheckingStrategy: empty means unset
    if value not in ZONE_CHECKING_VALUES:
        raise ValueError(f"Invalid value {value!r} for {ZONE_CHECKING_KEY}: expected none or strict")
    return value


def parse_volume_options(options: Iterable[str]) -> VolumeOptions:
    """Extract the placement options from ``glustervolumeoptions`` entries."""
    values: dict[str, str] = {}
    for entry in options:
        if not entry:
            continue
        key, _, value = entry.partition(" ")
        values[key] = value.strip()

    tag_rule = None
    if TAG_MATCH_KEY in values:
        try:
            tag_rule = TagRule.parse(values[TAG_MATCH_KEY])
        except ValueError as exc:
            raise ValueError(f"Invalid value for {TAG_MATCH_KEY}: {exc}") from None
    average = values.get(AVERAGE_FILE_SIZE_KEY)
    zone_checking = values.get(ZONE_CHECKING_KEY)
    return VolumeOptions(
        arbiter=_parse_bool(values[ARBITER_KEY]) if ARBITER_KEY in values else False,
        average_file_size_kib=(DEFAULT_AVERAGE_FILE_SIZE_KIB if average is None
                               else _parse_average_file_size(average)),
        zone_checking=None if zone_checking is None else _parse_zone_checking(zone_checking),
        tag_rule=tag_rule,
    )
