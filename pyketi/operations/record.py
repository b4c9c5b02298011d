"""Dataclasses stored as JSON in an ``Operation`` row (step arguments, operation data).

``to_json`` / ``from_json`` are the one place each is converted: the builder
creates the dataclass, the runner (or, after a crash, another process) reads
it back. Field names are the stored format.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Base of stored dataclasses; fields holding other dataclasses override ``from_json``."""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[R], data: dict) -> R:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class VolumeRef(Record):
    """Operation data naming the volume it works on."""

    volume_id: str


@dataclass
class DeviceRef(Record):
    device_id: str


@dataclass
class NodeRef(Record):
    node_id: str
