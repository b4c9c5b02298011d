"""Node-touching steps shared by operations, each registered with its undo.

Step arguments are plain JSON (stored in the operation row) so a restarted
process can replay an undo.  Bricks are grouped per node: one executor call
per node, nodes worked in parallel.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pyketi.db.models import Brick, Node, Volume
from pyketi.executors.base import BrickRequest, ExecutorError, VolumeRequest
from pyketi.operations.engine import StepContext, gather_hosts, step


# -- conversions ----------------------------------------------------------

def brick_request(brick: Brick, node: Node, gid: int) -> dict:
    req = BrickRequest(id=brick.id, device_id=brick.device_id, node_storage=node.storage,
                       size_kib=brick.size, tp_size_kib=brick.tp_size,
                       pool_metadata_kib=brick.pool_metadata_size, gid=gid,
                       arbiter=brick.subtype == 2, tp_name=brick.lvm_thin_pool,
                       lv_name=brick.lvm_lv, path=brick.path)
    return dataclasses.asdict(req)


def bricks_by_host(bricks: list[Brick], nodes: dict[str, Node], gid: int) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for brick in bricks:
        node = nodes[brick.node_id]
        grouped.setdefault(node.manage, []).append(brick_request(brick, node, gid))
    return grouped


def volume_request(volume: Volume, bricks: list[Brick], nodes: dict[str, Node]) -> dict:
    dur = volume.durability or {}
    dtype = dur.get("type") or "none"
    replica = (dur.get("replicate") or {}).get("replica") or 2
    disperse = dur.get("disperse") or {}
    ordered = sorted(bricks, key=lambda b: (b.set_index, b.position))
    arbiter = any(b.subtype == 2 for b in bricks)
    req = VolumeRequest(
        name=volume.name, id=volume.id, durability=dtype,
        replica=replica if dtype == "replicate" else 0, arbiter=arbiter,
        disperse_data=disperse.get("data", 0) if dtype == "disperse" else 0,
        disperse_redundancy=disperse.get("redundancy", 0) if dtype == "disperse" else 0,
        bricks=[(nodes[b.node_id].storage, b.path) for b in ordered],
        options=[o for o in volume.options if o.strip()])
    return dataclasses.asdict(req)


def to_volume_request(data: dict) -> VolumeRequest:
    data = dict(data)
    data["bricks"] = [tuple(b) for b in data.get("bricks", [])]
    return VolumeRequest(**data)


# -- bricks ---------------------------------------------------------------

async def _destroy_bricks(ctx: StepContext, args: dict) -> dict[str, list[bool]]:
    ex = ctx.executor
    return await gather_hosts({
        host: (lambda h=host, bl=bricks: ex.bricks_destroy(h, [BrickRequest(**b) for b in bl]))
        for host, bricks in args["hosts"].items()})


async def _create_bricks(ctx: StepContext, args: dict) -> Any:
    ex = ctx.executor
    return await gather_hosts({
        host: (lambda h=host, bl=bricks: ex.bricks_create(h, [BrickRequest(**b) for b in bl]))
        for host, bricks in args["hosts"].items()})


step("bricks_create", undo=_destroy_bricks,
     touches=lambda args: list(args["hosts"]))(_create_bricks)
step("bricks_destroy")(_destroy_bricks)


# -- volumes --------------------------------------------------------------

async def _on_any_host(hosts: list[str], call) -> Any:
    """Try ``call(host)`` on each host until one succeeds (heketi's volume delete)."""
    last: Exception | None = None
    for host in hosts:
        try:
            return await call(host)
        except ExecutorError as e:
            last = e
    raise last or ExecutorError("no node available in the cluster")


async def _destroy_volume(ctx: StepContext, args: dict) -> None:
    await _on_any_host(args["hosts"], lambda h: ctx.executor.volume_destroy(h, args["name"]))


async def _create_volume(ctx: StepContext, args: dict) -> None:
    """args: hosts (first = node of the first brick), name, volume."""
    await ctx.executor.volume_create(args["hosts"][0], to_volume_request(args["volume"]))


async def _expand_volume(ctx: StepContext, args: dict) -> None:
    await ctx.executor.volume_expand(args["host"], to_volume_request(args["volume"]),
                                    [tuple(b) for b in args["new_bricks"]],
                                    rebalance=args.get("rebalance", True))


step("volume_create", undo=_destroy_volume,
     touches=lambda args: args["hosts"][:1])(_create_volume)
step("volume_destroy")(_destroy_volume)
step("volume_expand", touches=lambda args: [args["host"]])(_expand_volume)
