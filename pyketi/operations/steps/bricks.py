"""Brick steps: create/destroy bricks (one executor call per node, nodes in
parallel) and replace a brick in its volume (device remove, brick evict)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pyketi.executors.base import (BrickRequest, CommandTimeout, ExecutorError,
                                   HealBrickInfo, NodeUnreachable, NothingChanged)
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


@dataclass
class HealCheck(StepArgs):
    """Before a brick is replaced: ``gluster volume heal <vol> info`` on a live node."""

    host: str
    volume: str
    brick_id: str                  # the brick to be replaced (named in the refusal)
    old: tuple[str, str]           # its (storage host, path)
    peers: list[tuple[str, str]]   # the other bricks of its replica set
    quorum: int                    # peers that must be online (heketi's QuorumBrickCount)
    hosts: list[str] = field(default_factory=list)  # other live nodes to ask

    @classmethod
    def from_json(cls, data: dict) -> "HealCheck":
        return cls(data["host"], data["volume"], data["brick_id"], pair(data["old"]),
                   [pair(p) for p in data["peers"]], int(data["quorum"]),
                   list(data.get("hosts", [])))


def _entries(info: HealBrickInfo | None) -> str:
    if info is None:
        return "not listed"
    if info.status == "Connected":
        return f"{info.number_of_entries or '?'} entries to heal"
    return info.status or "down"


def heal_summary(args: HealCheck, bricks: list[HealBrickInfo]) -> tuple[str, int, int]:
    """(one line for the operator, peers online, entries still to heal on them)."""
    by_name = {b.name: b for b in bricks}
    online, pending, parts = 0, 0, []
    for peer in args.peers:
        info = by_name.get(f"{peer[0]}:{peer[1]}")
        parts.append(f"{peer[0]} {_entries(info)}")
        if info is not None and info.status == "Connected":
            online += 1
            pending += int(info.number_of_entries) if info.number_of_entries.isdigit() else 0
    old = by_name.get(f"{args.old[0]}:{args.old[1]}")
    parts.append(f"old brick on {args.old[0]} {_entries(old)}")
    line = (f"heal info of {args.volume} before replacing brick {args.brick_id}: "
            f"{online} of {len(args.peers)} other copies online (need {args.quorum}), "
            f"{pending} entries to heal ({', '.join(parts)})")
    return line, online, pending


async def heal_check(ctx: StepContext, args: HealCheck) -> dict:
    """heketi's ``canReplaceBrickInBrickSet``: the brick to be replaced must not be
    the source of data still to be healed, and enough of the other copies must be
    online, else nothing is changed.  The heal state is reported as progress."""
    error: ExecutorError | None = None
    for host in [args.host, *args.hosts]:
        try:
            bricks = await ctx.executor.volume_heal_info(host, args.volume)
            break
        except ExecutorError as e:
            error = e
    else:
        raise NothingChanged(f"Unable to get heal info of volume {args.volume} before "
                             f"replacing brick {args.brick_id}: {error}", args.host)
    line, online, pending = heal_summary(args, bricks)
    ctx.report("heal", line)
    old = next((b for b in bricks if b.name == f"{args.old[0]}:{args.old[1]}"), None)
    if old is not None and old.status == "Connected" and not old.healed:
        raise NothingChanged(f"Cannot replace brick {args.brick_id} as it is source brick "
                             f"for data to be healed ({line})")
    if online < args.quorum:
        raise NothingChanged(f"Cannot replace brick {args.brick_id} as only {online} of "
                             f"{args.quorum} required peer bricks are online ({line})")
    return {"online": online, "entries": pending}


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


async def destroy_quietly(ctx: StepContext, args: BrickHosts) -> BrickHosts:
    """The old brick of a replaced brick, destroyed best effort: a dead disk or node must
    not block its own removal (the brick is gone from the volume already).  Returns the
    bricks of nodes that did not answer (powered off, hung): the cleaner destroys them
    once their node answers again (``bricks_destroy_when_back``)."""
    left: dict[str, list[BrickRequest]] = {}
    for host, bricks in args.hosts.items():
        try:
            await ctx.executor.bricks_destroy(host, bricks)
        except (NodeUnreachable, CommandTimeout) as e:
            left[host] = bricks
            log.warning("old brick(s) %s left on %s (%s): the cleaner destroys them when "
                        "the node answers again", ",".join(b.id for b in bricks), host, e)
        except ExecutorError:
            pass  # dead disk: nothing to retry
    return BrickHosts(left)


async def destroy_when_back(ctx: StepContext, args: BrickHosts) -> None:
    """Bricks left on a node that did not answer: destroyed now.  A node that still does
    not answer raises (the cleaner tries again next round); any other failure cannot
    be helped by retrying: logged, and left to ``pyketi db repair`` (leftover-brick)."""
    for host, bricks in args.hosts.items():
        try:
            await ctx.executor.bricks_destroy(host, bricks)
        except (NodeUnreachable, CommandTimeout):
            raise
        except ExecutorError as e:
            log.warning("leftover brick(s) %s on %s not destroyed (%s); `pyketi db repair "
                        "--dry-run` lists what is left", ",".join(b.id for b in bricks),
                        host, e)


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
    """``replace-brick ... commit force`` on the first live node that answers (a node
    the database still calls online may be dead too)."""
    hosts = [args.host, *args.hosts]
    try:
        for i, host in enumerate(hosts):
            try:
                await ctx.executor.brick_replace(host, args.volume, args.old, args.new)
                return
            except NodeUnreachable as e:
                if i == len(hosts) - 1:
                    raise
                log.warning("replace-brick on %s: %s; trying the next node", args.volume, e)
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
