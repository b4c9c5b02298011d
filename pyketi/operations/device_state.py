"""Device state (heketi ``DeviceSetState``): ``failed`` moves every brick of the
device to other devices first (``device_remove``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyketi.db.models import Device
from pyketi.operations import device_remove
from pyketi.operations.state_rules import change_state

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


async def set_state(rt: "Runtime", device_id: str, wanted: str, healcheck: str) -> str:
    return await change_state(rt, Device, device_id, "device", wanted,
                              lambda: device_remove.remove_device(rt, device_id, healcheck))
