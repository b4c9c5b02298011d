"""Block-hosting volumes: the free-size rule and the restriction change (heketi
``BlockHostingVolumeSetRestriction``, a database change answered through the queue, 303)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pyketi.db.models import Volume
from pyketi.errors import Conflict, NotFound

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def block_sizes(size_gib: int) -> tuple[int, int]:
    """(free, reserved) GiB of a block-hosting volume of ``size_gib``: heketi keeps 2 %
    of it reserved for block volume metadata."""
    free = size_gib * 98 // 100
    return free, size_gib - free


async def set_restriction(rt: "Runtime", volume_id: str, restriction: str) -> str:
    def build_restriction(s: Session) -> None:
        volume = s.get(Volume, volume_id)
        if volume is None or volume.pending_op is not None:
            raise NotFound()
        if not volume.block:
            raise Conflict("Failed to set block restriction: Block restrictions can only be "
                           "set on block hosting volumes")
        if volume.busy_op is not None:
            raise Conflict(f"Volume {volume_id} is busy with another operation; retry later")
        info = dict(volume.blockinfo or {})
        if restriction == "" and info.get("restriction") == "locked-by-update":
            need = block_sizes(volume.size)[1]
            free = info.get("freesize", 0)
            if free < need:
                raise Conflict(f"Failed to set block restriction: Can not unlock volume. "
                               f"{need}GiB free space is required, but found {free}GiB")
        if restriction:
            info["restriction"] = restriction
        else:
            info.pop("restriction", None)
        volume.blockinfo = info

    async def work() -> str:
        return f"/volumes/{volume_id}"

    return await rt.runner.start_job(work, prepare=build_restriction, throttled=True)
