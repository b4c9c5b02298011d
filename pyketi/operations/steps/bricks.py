"""Brick steps: create/destroy bricks (one executor call per node, nodes in
parallel) and replace a brick in its volume (device remove, brick evict)."""

from __future__ import annotations

from dataclasses import dataclass

from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.operations.steps.base import StepArgs, StepContext, gather_hosts, pair


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

    @classmethod
    def from_json(cls, data: dict) -> "BrickReplace":
        return cls(data["host"], data["volume"], pair(data["old"]), pair(data["new"]))


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


async def replace(ctx: StepContext, args: BrickReplace) -> None:
    await ctx.executor.brick_replace(args.host, args.volume, args.old, args.new)


async def replace_back(ctx: StepContext, args: BrickReplace) -> None:
    try:
        await ctx.executor.brick_replace(args.host, args.volume, args.new, args.old)
    except ExecutorError:
        pass  # the forward replace never happened
