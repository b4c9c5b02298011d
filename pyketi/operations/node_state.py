"""Node state (heketi ``NodeSetState``): ``failed`` removes every device of the node
(their bricks move to other nodes) first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from pyketi.db.models import Device, Node
from pyketi.operations import device_remove
from pyketi.operations.state_rules import change_state

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


async def set_state(rt: "Runtime", node_id: str, wanted: str, healcheck: str) -> str:
    async def remove_devices() -> None:
        devices = await rt.db.read(lambda s: [
            d.id for d in s.execute(select(Device).where(Device.node_id == node_id)).scalars()
            if d.state != "failed"])
        # refused before any brick moves when one has nowhere to go
        await device_remove.check(rt, devices, node_id, node_removal=True)
        for device_id in devices:
            await device_remove.remove_device(rt, device_id, healcheck, node_removal=True,
                                              checked=True)

    return await change_state(rt, Node, node_id, "node", wanted, remove_devices)
