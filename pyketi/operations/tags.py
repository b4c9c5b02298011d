"""Node and device tags (heketi ``TagsChangeRequest``): database only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pyketi.db.session import lock_row
from pyketi.errors import NotFound


def changed_tags(current: dict[str, str], change: str, tags: dict[str, str]) -> dict[str, str]:
    if change == "set":
        return dict(tags)
    if change == "update":
        return {**current, **tags}
    return {k: v for k, v in current.items() if k not in tags}


def change_tags(s: Session, model: Any, obj_id: str, change: str,
                tags: dict[str, str]) -> dict[str, str]:
    """Apply a ``set``/``update``/``delete`` change to a node's or device's tags."""
    obj = lock_row(s, model, obj_id)
    if obj is None or obj.pending_op is not None:
        raise NotFound()
    obj.tags = changed_tags(dict(obj.tags or {}), change, tags)
    return obj.tags
