"""Every operation kind, in ONE explicit list (name stored in ``Operation.type``).

The cleaner may have to finish or undo an operation of any kind after a
restart, so a kind is never removed or renamed while operations of it may be
recorded. Adding a use case: its module defines ``KIND`` (or several), listed
here; its steps are listed in ``operations.steps.STEPS``.
"""

from __future__ import annotations

from pyketi.operations import (device_add, device_delete, device_remove, device_resync, node_add,
                               node_delete, volume_clone, volume_create, volume_delete,
                               volume_expand)
from pyketi.operations.engine import KindDef

KINDS: dict[str, KindDef] = {
    "create-volume": volume_create.KIND,
    "expand-volume": volume_expand.KIND,
    "delete-volume": volume_delete.KIND,
    "clone-volume": volume_clone.KIND,
    "evict-brick": device_remove.KIND,
    "leftover-bricks": device_remove.LEFTOVER_KIND,
    "add-device": device_add.KIND,
    "delete-device": device_delete.KIND,
    "resync-device": device_resync.KIND,
    "add-node": node_add.KIND,
    "delete-node": node_delete.KIND,
}
