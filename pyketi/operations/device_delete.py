"""Device delete (heketi ``DeviceDelete``): only a ``failed`` device without bricks;
the VG and PV are removed from the node, then the row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Node
from pyketi.db.session import lock_row
from pyketi.errors import BadRequest, Conflict, NotFound
from pyketi.operations import engine
from pyketi.operations.device_add import remove_device_row
from pyketi.operations.engine import KindDef
from pyketi.operations.record import DeviceRef
from pyketi.operations.steps import Step, devices as device_steps

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


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


KIND = KindDef("unknown", "forward", DeviceRef, remove_device_row, _lift)


async def delete(rt: "Runtime", device_id: str, force: bool) -> str:
    return await rt.runner.submit(
        lambda s, op_id: build_delete(s, rt, device_id, force, op_id), throttled=False)
