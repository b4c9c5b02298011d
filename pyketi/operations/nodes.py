"""Node add/delete/state (heketi ``app_node.go``, ``node_entry.go``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Cluster, Device, Hostname, Node
from pyketi.db.session import lock_row
from pyketi.errors import BadRequest, Conflict, NotFound
from pyketi.executors.base import ExecutorError
from pyketi.ids import new_id
from pyketi.operations import engine
from pyketi.operations.engine import KindDef
from pyketi.operations.record import NodeRef
from pyketi.operations.steps import Step, peers

if TYPE_CHECKING:
    from pyketi.operations.runtime import Runtime


@dataclass
class NodeAdd:
    zone: int
    cluster: str
    manage: list[str]
    storage: list[str]
    tags: dict[str, str] = field(default_factory=dict)


# -- add ----------------------------------------------------------------------

async def glusterd_peer(rt: "Runtime", req: NodeAdd) -> str | None:
    """Find the node that will probe the new one; check glusterd (heketi step 6)."""

    def peers(s: Session) -> list[str] | None:
        if s.get(Cluster, req.cluster) is None:
            return None
        return [n.manage for n in s.execute(
            select(Node).where(Node.cluster_id == req.cluster, Node.state == "online",
                               Node.pending_op.is_(None)).order_by(Node.id)).scalars()]

    hosts = await rt.db.read(peers)
    if hosts is None:
        raise NotFound("Cluster id does not exist")
    has_nodes = await rt.db.read(lambda s: s.execute(
        select(Node.id).where(Node.cluster_id == req.cluster)).first() is not None)
    if not has_nodes:
        try:
            await rt.executor.glusterd_check(req.manage[0])
        except ExecutorError:
            raise BadRequest("New Node doesn't have glusterd running") from None
        return None
    for host in hosts:
        try:
            await rt.executor.glusterd_check(host)
            return host
        except ExecutorError:
            continue
    raise BadRequest("None of the nodes in cluster has glusterd running")


def _register_hostnames(s: Session, node_id: str, req: NodeAdd) -> None:
    for kind, names in (("manage", req.manage), ("storage", req.storage)):
        for name in names:
            owner = s.get(Hostname, (kind, name))
            if owner is not None:
                raise Conflict(f"Hostname {name} already used by node with id "
                               f"{owner.node_id}\n")
            s.add(Hostname(kind=kind, hostname=name, node_id=node_id))


def build_add(s: Session, rt: "Runtime", req: NodeAdd, peer: str | None, node_id: str,
              op_id: str) -> str:
    if lock_row(s, Cluster, req.cluster) is None:
        raise NotFound("Cluster id does not exist")
    node = Node(id=node_id, cluster_id=req.cluster, zone=req.zone,
                manage_hostnames=req.manage, storage_hostnames=req.storage, tags=req.tags,
                state="online", pending_op=op_id)
    s.add(node)
    s.flush()
    _register_hostnames(s, node_id, req)
    steps = []
    if peer:
        steps.append(Step("peer_probe", peers.Peer(peer, req.storage[0])))
    engine.new_operation(s, op_id, "add-node", rt.runner.instance_id, steps,
                         [{"id": node_id, "description": "Add node"}], NodeRef(node_id))
    return op_id


def _finalize_add(s: Session, _op_id: str, data: NodeRef, _results: dict) -> None:
    node = s.get(Node, data.node_id)
    node.pending_op = None


def _rollback_add(s: Session, _op_id: str, data: NodeRef, _results: dict) -> None:
    """Remove the node and its hostname registrations (failed add, finished delete)."""
    node_id = data.node_id
    for h in s.execute(select(Hostname).where(Hostname.node_id == node_id)).scalars():
        s.delete(h)
    node = s.get(Node, node_id)
    if node is not None:
        s.delete(node)


ADD_KIND = KindDef("unknown", "rollback", NodeRef, _finalize_add, _rollback_add)


async def add(rt: "Runtime", req: NodeAdd) -> str:
    peer = await glusterd_peer(rt, req)
    node_id = new_id()
    return await rt.runner.submit(lambda s, op_id: build_add(s, rt, req, peer, node_id, op_id),
                                  f"/nodes/{node_id}", throttled=False)


# -- delete -------------------------------------------------------------------

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


DELETE_KIND = KindDef("unknown", "forward", NodeRef, _rollback_add, _lift_delete)


async def delete(rt: "Runtime", node_id: str) -> str:
    return await rt.runner.submit(lambda s, op_id: build_delete(s, rt, node_id, op_id),
                                  throttled=False)


# -- state --------------------------------------------------------------------

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


async def set_state(rt: "Runtime", node_id: str, wanted: str, healcheck: str) -> str:
    from pyketi.operations import device_remove

    async def remove_devices() -> None:
        devices = await rt.db.read(lambda s: [
            d.id for d in s.execute(select(Device).where(Device.node_id == node_id)).scalars()
            if d.state != "failed"])
        for device_id in devices:
            await device_remove.remove_device(rt, device_id, healcheck, node_removal=True)

    return await change_state(rt, Node, node_id, "node", wanted, remove_devices)
