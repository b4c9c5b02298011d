"""Gluster volume steps: create, destroy, expand, clone (run on one node of the
cluster; destroy and clone try the next node when one fails)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pyketi.executors.base import ExecutorError, VolumeInfo, VolumeRequest
from pyketi.operations.steps.base import StepArgs, StepContext, pair

log = logging.getLogger("pyketi.operations")


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


async def expand_resume(ctx: StepContext, args: VolumeExpand) -> bool:
    """Whether the add-brick took effect (the new bricks serve the volume: they cannot be
    unmounted, files may already live on them). When only some brick sets were added
    (a multi-chunk add-brick cut short), the missing ones are added now."""
    info = await ctx.executor.volume_info(args.host, args.volume.name)
    present = {b.name for b in info.bricks}
    missing = [b for b in args.new_bricks if f"{b[0]}:{b[1]}" not in present]
    if len(missing) == len(args.new_bricks):
        return False
    if missing:
        await ctx.executor.volume_expand(args.host, args.volume, missing,
                                         rebalance=args.rebalance)
    else:
        log.warning("volume %s: its add-brick took effect before pyketi was interrupted; "
                    "if no rebalance ran, start one: gluster volume rebalance %s start",
                    args.volume.name, args.volume.name)
    return True


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
