"""Device add/delete/state/resync (heketi ``app_device.go``, ``device_entry.go``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Node
from pyketi.db.session import lock_row
from pyketi.errors import BadRequest, Conflict, NotFound
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.executors.base import DeviceInfo
from pyketi.operations.engine import KindDef
from pyketi.operations.record import DeviceRef
from pyketi.operations.steps import Step, devices as device_steps
from pyketi.operations.nodes import change_state

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def _apply_sizes(device: Device, info: DeviceInfo) -> None:
    device.total, device.free, device.used = info.total, info.free, info.used
    device.extent_size = info.extent_size or 4096
    if info.pv_uuid:
        device.pv_uuid = info.pv_uuid
    if info.paths:
        device.paths = list(info.paths)


# -- add ----------------------------------------------------------------------

def build_add(s: Session, rt: "Runtime", node_id: str, name: str, tags: dict,
              destroy: bool, device_id: str, op_id: str) -> str:
    node = s.get(Node, node_id)
    if node is None or node.pending_op is not None:
        raise NotFound("Node id does not exist")
    s.add(Device(id=device_id, node_id=node_id, name=name, tags=tags, state="online",
                 pending_op=op_id))
    steps = [Step("device_setup", device_steps.DeviceSetup(node.manage, name, device_id,
                                                           destroy))]
    engine.new_operation(s, op_id, "add-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Add device"}], DeviceRef(device_id))
    return op_id


def _finalize_add(s: Session, _op_id: str, data: DeviceRef, results: dict) -> None:
    device = s.get(Device, data.device_id)
    _apply_sizes(device, results["device_setup"])
    device.pending_op = None


def _delete_row(s: Session, _op_id: str, data: DeviceRef, _results: dict) -> None:
    device = s.get(Device, data.device_id)
    if device is not None:
        s.delete(device)


ADD_KIND = KindDef("unknown", "rollback", DeviceRef, _finalize_add, _delete_row)


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
    steps = [Step("device_teardown", device_steps.DeviceTeardown(
        node.manage, device.name, device_id, device.pv_uuid, force))]
    engine.new_operation(s, op_id, "delete-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Delete device"}],
                         DeviceRef(device_id))
    return op_id


def _lift(s: Session, _op_id: str, data: DeviceRef, _results: dict) -> None:
    device = s.get(Device, data.device_id)
    if device is not None:
        device.pending_op = None


DELETE_KIND = KindDef("unknown", "forward", DeviceRef, _delete_row, _lift)


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
    steps = [Step("device_info", device_steps.DeviceInfoArgs(node.manage, device.name,
                                                             device_id, device.pv_uuid))]
    engine.new_operation(s, op_id, "resync-device", rt.runner.instance_id, steps,
                         [{"id": device_id, "description": "Unknown"}], DeviceRef(device_id))
    return op_id


def _finalize_resync(s: Session, _op_id: str, data: DeviceRef, results: dict) -> None:
    device = s.get(Device, data.device_id)
    _apply_sizes(device, results["device_info"])
    device.busy_op = None


def _unbusy(s: Session, _op_id: str, data: DeviceRef, _results: dict) -> None:
    device = s.get(Device, data.device_id)
    if device is not None:
        device.busy_op = None


RESYNC_KIND = KindDef("unknown", "rollback", DeviceRef, _finalize_resync, _unbusy)


async def resync(rt: "Runtime", device_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_resync(s, rt, device_id, op_id),
                                  throttled=False)


# -- state --------------------------------------------------------------------

async def set_state(rt: "Runtime", device_id: str, wanted: str, healcheck: str) -> str:
    from pyketi.operations import device_remove

    return await change_state(rt, Device, device_id, "device", wanted,
                              lambda: device_remove.remove_device(rt, device_id, healcheck))



