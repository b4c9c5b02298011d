"""Node delete (heketi ``NodeDelete``): only a node without devices; peer detach
from another online node (errors ignored, as heketi), then the rows go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Device, Node
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound
from pyketi.operations import device_remove, engine
from pyketi.operations.engine import KindDef
from pyketi.operations.node_add import remove_node_rows
from pyketi.operations.record import NodeRef
from pyketi.operations.steps import Step, peers

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


def build_delete(s: Session, rt: "Runtime", node_id: str, op_id: str) -> str:
    node = lock_row(s, Node, node_id)
    if node is None or node.pending_op is not None:
        raise NotFound()
    if s.execute(select(Device.id).where(Device.node_id == node_id)).first():
        raise Conflict(f"Unable to delete node [{node_id}] because it contains devices")
    if node.busy_op is not None:
        raise Conflict(f"Node {node_id} is busy with another operation; retry later")
    node.pending_op = op_id
    others = s.execute(select(Node).where(Node.cluster_id == node.cluster_id,
                                          Node.id != node_id, Node.state == "online")
                       .order_by(Node.id)).scalars().first()
    steps = []
    if others is not None:
        steps.append(Step("peer_detach", peers.Peer(others.manage, node.storage)))
    engine.new_operation(s, op_id, "delete-node", rt.runner.instance_id, steps,
                         [{"id": node_id, "description": "Delete node"}], NodeRef(node_id))
    return op_id


def _lift_delete(s: Session, _op_id: str, data: NodeRef, _results: dict) -> None:
    node = s.get(Node, data.node_id)
    if node is not None:
        node.pending_op = None


def _remove(s: Session, op_id: str, data: NodeRef, results: dict) -> None:
    node = s.get(Node, data.node_id)
    if node is not None:
        device_remove.forget_leftovers(s, node.manage)
    remove_node_rows(s, op_id, data, results)


KIND = KindDef("unknown", "forward", NodeRef, _remove, _lift_delete)


async def delete(rt: "Runtime", node_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_delete(s, rt, node_id, op_id),
                                  throttled=False)
