"""Node and device states (heketi ``SetState``): which transitions are allowed, and
the state change itself (202 → 204), answered through the queue.

Going to ``failed`` first moves every brick away (``device_remove``); that is
the only transition that touches nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy.orm import Session

from pyketi.db.session import lock_row
from pyketi.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def check_transition(kind: str, obj_id: str, current: str, wanted: str) -> None:
    """heketi ``SetState`` rules shared by nodes and devices."""
    label = "Node" if kind == "node" else "Device"
    if current == "online" and wanted == "failed":
        raise BadRequest(f"{label} must be offline before remove operation is performed, "
                         f"{kind}:{obj_id}")
    if current == "failed" and wanted == "online":
        what = "node" if kind == "node" else "device"
        raise BadRequest(f"Cannot move a failed/removed {what} to online state")
    if kind == "node" and current == "failed" and wanted == "offline":
        raise BadRequest("Cannot move a failed/removed node to offline state")


async def change_state(rt: "Runtime", model: Any, obj_id: str, kind: str, wanted: str,
                       on_failed: Callable[[], Awaitable[None]]) -> str:
    """State change of a node or device (202 → 204): heketi's transition rules;
    ``on_failed`` moves the bricks away before the state becomes ``failed``."""

    def current(s: Session) -> str:
        obj = s.get(model, obj_id)
        if obj is None or obj.pending_op is not None:
            raise NotFound()
        return obj.state

    async def work() -> str:
        state = await rt.db.read(current)
        if state == wanted:
            return ""
        check_transition(kind, obj_id, state, wanted)
        if wanted == "failed":
            await on_failed()

        def save(s: Session) -> None:
            lock_row(s, model, obj_id).state = wanted
        await rt.db.write(save)
        return ""

    await rt.db.read(current)  # 404 synchronously
    return await rt.runner.start_job(work, throttled=wanted == "failed")
