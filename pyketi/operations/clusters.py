"""Cluster changes (heketi ``app_cluster.go``): database only, answered at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyketi.db import queries
from pyketi.db.models import Cluster, Node, Volume
from pyketi.db.session import lock_row
from pyketi.errors import Conflict, NotFound
from pyketi.ids import new_id


def create(s: Session, block: bool, file: bool) -> dict:
    cluster = Cluster(id=new_id(), block=block, file=file)
    s.add(cluster)
    s.flush()
    return queries.cluster_info(s, cluster)


def delete(s: Session, cluster_id: str) -> None:
    cluster = lock_row(s, Cluster, cluster_id)
    if cluster is None:
        raise NotFound()
    busy = (s.execute(select(Node.id).where(Node.cluster_id == cluster_id)).first()
            or s.execute(select(Volume.id).where(Volume.cluster_id == cluster_id)).first())
    if busy:
        raise Conflict(f"Unable to delete cluster [{cluster_id}] because it contains "
                       "volumes and/or nodes")
    s.delete(cluster)


def set_flags(s: Session, cluster_id: str, block: bool, file: bool) -> None:
    cluster = lock_row(s, Cluster, cluster_id)
    if cluster is None:
        raise NotFound()
    cluster.block, cluster.file = block, file
