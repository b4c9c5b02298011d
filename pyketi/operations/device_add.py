"""Device add (heketi ``app_device.go`` DeviceAdd): pvcreate/vgcreate on the node,
then the device and its sizes become visible."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db.models import Device, Node
from pyketi.errors import NotFound
from pyketi.executors.base import DeviceInfo
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.engine import KindDef
from pyketi.operations.record import DeviceRef
from pyketi.operations.steps import Step, devices as device_steps

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def apply_sizes(device: Device, info: DeviceInfo) -> None:
    device.total, device.free, device.used = info.total, info.free, info.used
    device.extent_size = info.extent_size or 4096
    if info.pv_uuid:
        device.pv_uuid = info.pv_uuid
    if info.paths:
        device.paths = list(info.paths)


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
    apply_sizes(device, results["device_setup"])
    device.pending_op = None


def remove_device_row(s: Session, _op_id: str, data: DeviceRef, _results: dict) -> None:
    device = s.get(Device, data.device_id)
    if device is not None:
        s.delete(device)


KIND = KindDef("unknown", "rollback", DeviceRef, _finalize_add, remove_device_row)


async def add(rt: "Runtime", node_id: str, name: str, tags: dict, destroy: bool) -> str:
    device_id = new_id()
    return await rt.runner.submit(
        lambda s, op_id: build_add(s, rt, node_id, name, tags, destroy, device_id, op_id),
        throttled=False)
