"""Device resync (heketi ``DeviceResync``): read the VG sizes back from the node."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Brick, Device, Node
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound
from pyketi.operations import engine
from pyketi.operations.device_add import apply_sizes
from pyketi.operations.engine import KindDef
from pyketi.operations.record import DeviceRef
from pyketi.operations.steps import Step, devices as device_steps

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


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
    apply_sizes(device, results["device_info"])
    device.busy_op = None


def _unbusy(s: Session, _op_id: str, data: DeviceRef, _results: dict) -> None:
    device = s.get(Device, data.device_id)
    if device is not None:
        device.busy_op = None


KIND = KindDef("unknown", "rollback", DeviceRef, _finalize_resync, _unbusy)


async def resync(rt: "Runtime", device_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_resync(s, rt, device_id, op_id),
                                  throttled=False)
