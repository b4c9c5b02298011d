"""Trusted storage pool steps: peer probe (add node) and detach (delete node)."""

from __future__ import annotations

from dataclasses import dataclass

from pyketi.executors.base import ExecutorError
from pyketi.operations.steps.base import StepArgs, StepContext


@dataclass
class Peer(StepArgs):
    host: str       # an existing node that runs the command
    storage: str    # storage hostname of the node probed or detached


async def probe(ctx: StepContext, args: Peer) -> None:
    await ctx.executor.peer_probe(args.host, args.storage)


async def detach(ctx: StepContext, args: Peer) -> None:
    await ctx.executor.peer_detach(args.host, args.storage)


async def detach_quietly(ctx: StepContext, args: Peer) -> None:
    """heketi: peer detach errors on node delete are logged and ignored."""
    try:
        await detach(ctx, args)
    except ExecutorError:
        pass
