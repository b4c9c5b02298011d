"""Device add/delete/state/resync (heketi ``app_device.go``, ``device_entry.go``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Node, Operation
from pyketi.db.session import lock_row
from pyketi.errors import BadRequest, Conflict, NotFound
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.engine import KindDef, StepContext, step
from pyketi.operations.nodes import change_state

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


# -- steps --------------------------------------------------------------------

async def _setup(ctx: StepContext, args: dict) -> dict:
    info = await ctx.executor.device_setup(args["host"], args["name"], args["id"],
                                          args.get("destroydata", False))
    return dataclasses.asdict(info)


async def _teardown(ctx: StepContext, args: dict) -> None:
    await ctx.executor.device_teardown(args["host"], args["name"], args["id"],
                                      args.get("pv_uuid", ""), args.get("force", False))


async def _teardown_forced(ctx: StepContext, args: dict) -> None:
    await _teardown(ctx, {**args, "force": True})


async def _info(ctx: StepContext, args: dict) -> dict:
    info = await ctx.executor.device_info(args["host"], args["name"], args["id"],
                                         args.get("pv_uuid", ""))
    return dataclasses.asdict(info)


step("device_setup", undo=_teardown_forced, touches=lambda args: [args["host"]])(_setup)
step("device_teardown")(_teardown)
step("device_info")(_info)


def _apply_sizes(device: Device, info: dict) -> None:
    device.total, device.free, device.used = info["total"], info["free"], info["used"]
    device.extent_size = info.get("extent_size") or 4096
    if info.get("pv_uuid"):
        device.pv_uuid = info["pv_uuid"]
    if info.get("paths"):
        device.paths = list(info["paths"])


# -- add ----------------------------------------------------------------------

def build_add(s: Session, rt: "Runtime", node_id: str, name: str, tags: dict,
              destroy: bool, device_id: str, op_id: str) -> str:
    node = s.get(Node, node_id)
    if node is None or node.pending_op is not None:
        raise NotFound("Node id does not exist")
    s.add(Device(id=device_id, node_id=node_id, name=name, tags=tags, state="online",
                 pending_op=op_id))
    steps = [{"name": "device_setup", "args": {"host": node.manage, "name": name,
                                               "id": device_id, "destroydata": destroy}}]
    engine.new_operation(s, op_id, "add-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Add device"}],
                         {"device_id": device_id})
    return op_id


def _finalize_add(s: Session, op: Operation, results: dict) -> None:
    device = s.get(Device, op.spec["data"]["device_id"])
    _apply_sizes(device, results["device_setup"])
    device.pending_op = None


def _delete_row(s: Session, op: Operation, _results: dict) -> None:
    device = s.get(Device, op.spec["data"]["device_id"])
    if device is not None:
        s.delete(device)


engine.kind("add-device", KindDef("unknown", "rollback", _finalize_add, _delete_row))


async def add(rt: "Runtime", node_id: str, name: str, tags: dict, destroy: bool) -> str:
    device_id = new_id()
    return await rt.runner.submit(
        lambda s, op_id: build_add(s, rt, node_id, name, tags, destroy, device_id, op_id),
        throttled=False)


# -- delete -------------------------------------------------------------------

def build_delete(s: Session, rt: "Runtime", device_id: str, force: bool, op_id: str) -> str:
    device = lock_row(s, Device, device_id)
    if device is None or device.pending_op is not None:
        raise NotFound()
    if device.state != "failed":
        raise BadRequest(f"device: {device_id} is not in failed state")
    if s.execute(select(Brick.id).where(Brick.device_id == device_id)).first():
        raise Conflict(f"Unable to delete device [{device_id}] because it contains bricks")
    if device.busy_op is not None:
        raise Conflict(f"Device {device_id} is busy with another operation; retry later")
    device.pending_op = op_id
    node = s.get(Node, device.node_id)
    steps = [{"name": "device_teardown", "args": {
        "host": node.manage, "name": device.name, "id": device_id,
        "pv_uuid": device.pv_uuid, "force": force}}]
    engine.new_operation(s, op_id, "delete-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Delete device"}],
                         {"device_id": device_id})
    return op_id


def _lift(s: Session, op: Operation, _results: dict) -> None:
    device = s.get(Device, op.spec["data"]["device_id"])
    if device is not None:
        device.pending_op = None


engine.kind("delete-device", KindDef("unknown", "forward", _delete_row, _lift))


async def delete(rt: "Runtime", device_id: str, force: bool) -> str:
    return await rt.runner.submit(
        lambda s, op_id: build_delete(s, rt, device_id, force, op_id), throttled=False)


# -- resync -------------------------------------------------------------------

def build_resync(s: Session, rt: "Runtime", device_id: str, op_id: str) -> str:
    device = lock_row(s, Device, device_id)
    if device is None or device.pending_op is not None:
        raise NotFound()
    if device.busy_op is not None or s.execute(select(Brick.id).where(
            Brick.device_id == device_id, Brick.pending_op.is_not(None))).first():
        raise Conflict("The target exists, contains other items, or is in use.")
    device.busy_op = op_id
    node = s.get(Node, device.node_id)
    steps = [{"name": "device_info", "args": {"host": node.manage, "name": device.name,
                                              "id": device_id, "pv_uuid": device.pv_uuid}}]
    engine.new_operation(s, op_id, "resync-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Unknown"}],
                         {"device_id": device_id})
    return op_id


def _finalize_resync(s: Session, op: Operation, results: dict) -> None:
    device = s.get(Device, op.spec["data"]["device_id"])
    _apply_sizes(device, results["device_info"])
    device.busy_op = None


def _unbusy(s: Session, op: Operation, _results: dict) -> None:
    device = s.get(Device, op.spec["data"]["device_id"])
    if device is not None:
        device.busy_op = None


engine.kind("resync-device", KindDef("unknown", "rollback", _finalize_resync, _unbusy))


async def resync(rt: "Runtime", device_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_resync(s, rt, device_id, op_id),
                                  throttled=False)


# -- state --------------------------------------------------------------------

async def set_state(rt: "Runtime", device_id: str, wanted: str, healcheck: str) -> str:
    from pyketi.operations import device_remove

    return await change_state(rt, Device, device_id, "device", wanted,
                              lambda: device_remove.remove_device(rt, device_id, healcheck))



