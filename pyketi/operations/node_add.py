"""Node add (heketi ``NodeAdd``): check glusterd, record the node and its hostnames,
then peer probe it from a node of the cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db.models import Cluster, Hostname, Node
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


def remove_node_rows(s: Session, _op_id: str, data: NodeRef, _results: dict) -> None:
    """Remove the node and its hostname registrations (failed add, finished delete)."""
    node_id = data.node_id
    for h in s.execute(select(Hostname).where(Hostname.node_id == node_id)).scalars():
        s.delete(h)
    node = s.get(Node, node_id)
    if node is not None:
        s.delete(node)


KIND = KindDef("unknown", "rollback", NodeRef, _finalize_add, remove_node_rows)


async def add(rt: "Runtime", req: NodeAdd) -> str:
    peer = await glusterd_peer(rt, req)
    node_id = new_id()
    return await rt.runner.submit(lambda s, op_id: build_add(s, rt, req, peer, node_id, op_id),
                                  f"/nodes/{node_id}", throttled=False)
