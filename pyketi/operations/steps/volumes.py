"""Gluster volume steps: create, destroy, expand, clone (run on one node of the
cluster; destroy and clone try the next node when one fails)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pyketi.executors.base import ExecutorError, VolumeInfo, VolumeRequest
from pyketi.operations.steps.base import StepArgs, StepContext, pair


def volume_from_json(data: dict) -> VolumeRequest:
    data = dict(data)
    data["bricks"] = [pair(b) for b in data.get("bricks", [])]
    return VolumeRequest(**data)


@dataclass
class VolumeDestroy(StepArgs):
    hosts: list[str]       # any of them may run it
    name: str


@dataclass
class VolumeCreate(StepArgs):
    hosts: list[str]       # first = node of the first brick; all: where the undo may run
    name: str
    volume: VolumeRequest

    @classmethod
    def from_json(cls, data: dict) -> "VolumeCreate":
        return cls(list(data["hosts"]), data["name"], volume_from_json(data["volume"]))


@dataclass
class VolumeExpand(StepArgs):
    host: str
    volume: VolumeRequest
    new_bricks: list[tuple[str, str]]
    rebalance: bool = True

    @classmethod
    def from_json(cls, data: dict) -> "VolumeExpand":
        return cls(data["host"], volume_from_json(data["volume"]),
                   [pair(b) for b in data["new_bricks"]], data.get("rebalance", True))


@dataclass
class VolumeClone(StepArgs):
    hosts: list[str]
    source: str
    name: str              # the clone's name


async def _on_any_host(hosts: list[str], call: Callable[[str], Awaitable[Any]]) -> Any:
    """Try ``call(host)`` on each host until one succeeds (heketi's volume delete)."""
    last: Exception | None = None
    for host in hosts:
        try:
            return await call(host)
        except ExecutorError as e:
            last = e
    raise last or ExecutorError("no node available in the cluster")


async def destroy(ctx: StepContext, args: VolumeDestroy | VolumeCreate | VolumeClone) -> None:
    await _on_any_host(args.hosts, lambda h: ctx.executor.volume_destroy(h, args.name))


async def create(ctx: StepContext, args: VolumeCreate) -> None:
    await ctx.executor.volume_create(args.hosts[0], args.volume)


async def expand(ctx: StepContext, args: VolumeExpand) -> None:
    await ctx.executor.volume_expand(args.host, args.volume, args.new_bricks,
                                     rebalance=args.rebalance)


async def clone(ctx: StepContext, args: VolumeClone) -> VolumeInfo:
    last: Exception | None = None
    for host in args.hosts:
        try:
            return await ctx.executor.volume_clone(host, args.source, args.name)
        except Exception as e:  # noqa: BLE001 - try the next node
            last = e
            if not getattr(e, "host", None):
                break
    raise last or ExecutorError("no node available in the cluster")
