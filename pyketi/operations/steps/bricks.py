"""Brick steps: create/destroy bricks (one executor call per node, nodes in
parallel) and replace a brick in its volume (device remove, brick evict)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.operations.steps.base import StepArgs, StepContext, gather_hosts, pair

log = logging.getLogger("pyketi.operations")


@dataclass
class BrickHosts(StepArgs):
    """Bricks grouped by the manage hostname of their node."""

    hosts: dict[str, list[BrickRequest]]

    @classmethod
    def from_json(cls, data: dict) -> "BrickHosts":
        return cls({host: [BrickRequest(**b) for b in bricks]
                    for host, bricks in data["hosts"].items()})


@dataclass
class BrickReplace(StepArgs):
    host: str
    volume: str
    old: tuple[str, str]   # (storage host, brick path)
    new: tuple[str, str]
    hosts: list[str] = field(default_factory=list)  # other live nodes to ask volume info

    @classmethod
    def from_json(cls, data: dict) -> "BrickReplace":
        return cls(data["host"], data["volume"], pair(data["old"]), pair(data["new"]),
                   list(data.get("hosts", [])))

    def to_json(self) -> dict:
        data = super().to_json()
        if not self.hosts:
            del data["hosts"]  # as stored before the field existed
        return data


async def create(ctx: StepContext, args: BrickHosts) -> None:
    ex = ctx.executor
    await gather_hosts({host: (lambda h=host, bl=bricks: ex.bricks_create(h, bl))
                        for host, bricks in args.hosts.items()})


async def destroy(ctx: StepContext, args: BrickHosts) -> dict[str, bool]:
    """Returns, per brick id, whether its space was reclaimed."""
    ex = ctx.executor
    flags = await gather_hosts({host: (lambda h=host, bl=bricks: ex.bricks_destroy(h, bl))
                                for host, bricks in args.hosts.items()})
    return {brick.id: flag for host, bricks in args.hosts.items()
            for brick, flag in zip(bricks, flags[host])}


async def destroy_quietly(ctx: StepContext, args: BrickHosts) -> None:
    for host, bricks in args.hosts.items():
        try:
            await ctx.executor.bricks_destroy(host, bricks)
        except ExecutorError:
            pass  # dead disk or node: the brick is gone from the volume already


async def _in_volume(ctx: StepContext, args: BrickReplace, brick: tuple[str, str]) -> bool | None:
    """Whether gluster lists ``brick`` in the volume (None: no node answered).

    A replace-brick whose old brick sits on a dead node may report an error or
    time out and still have happened: gluster is asked, not the exit status."""
    for host in [args.host, *args.hosts]:
        try:
            info = await ctx.executor.volume_info(host, args.volume)
        except ExecutorError:
            continue
        return f"{brick[0]}:{brick[1]}" in {b.name for b in info.bricks}
    return None


async def replace(ctx: StepContext, args: BrickReplace) -> None:
    try:
        await ctx.executor.brick_replace(args.host, args.volume, args.old, args.new)
    except ExecutorError as e:
        if await _in_volume(ctx, args, args.new):
            log.warning("replace-brick on %s reported %s, but gluster lists the new brick "
                        "%s:%s: done", args.volume, e, *args.new)
            return
        raise


async def replace_resume(ctx: StepContext, args: BrickReplace) -> bool:
    """The new brick serves the volume: finish the eviction (destroy the old brick)
    rather than move the brick back onto a device that is leaving."""
    present = await _in_volume(ctx, args, args.new)
    if present is None:
        raise ExecutorError(f"no node answered volume info of {args.volume}", args.host)
    return present


async def replace_back(ctx: StepContext, args: BrickReplace) -> None:
    if await _in_volume(ctx, args, args.new) is False:
        return  # the forward replace never happened
    try:
        await ctx.executor.brick_replace(args.host, args.volume, args.new, args.old)
    except ExecutorError as e:
        log.warning("replace-brick back on %s failed: %s", args.volume, e)
