"""SQLAlchemy 2 models of the topology store.

Sizes are KiB, as in heketi.  Objects being created or deleted carry
``pending_op`` = the id of the operation working on them; such objects are
invisible to list/info (heketi ``Pending.Id``).  ``busy_op`` marks an object
any operation is changing, so a second operation on it is refused (409)
instead of interleaving (heketi corrupted its DB on concurrent expand+delete).  The schema is owned by the
Alembic migrations in ``migrations/``; never call ``create_all`` outside tests.
"""

from __future__ import annotations

import time

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID = String(32)


def now() -> float:
    return time.time()


class Base(DeclarativeBase):
    pass


class Cluster(Base):
    __tablename__ = "clusters"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    block: Mapped[bool] = mapped_column(Boolean, default=False)
    file: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # rows of ``volumes`` naming this cluster: kept by the database's triggers (revision
    # 0004), never written by pyketi; read with the row by every create
    volume_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    nodes: Mapped[list["Node"]] = relationship(back_populates="cluster", order_by="Node.id")
    volumes: Mapped[list["Volume"]] = relationship(back_populates="cluster", order_by="Volume.id")


class NodeHostnames:
    """``manage``/``storage``: the first hostname of each list (what heketi uses), for
    ``Node`` and for ``statements.NodeRow``."""

    @property
    def manage(self) -> str:
        return self.manage_hostnames[0]  # type: ignore[attr-defined]

    @property
    def storage(self) -> str:
        return self.storage_hostnames[0]  # type: ignore[attr-defined]


class Node(NodeHostnames, Base):
    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    zone: Mapped[int] = mapped_column(Integer)
    manage_hostnames: Mapped[list] = mapped_column(JSON)
    storage_hostnames: Mapped[list] = mapped_column(JSON)
    tags: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="online")
    pending_op: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    busy_op: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    cluster: Mapped[Cluster] = relationship(back_populates="nodes")
    devices: Mapped[list["Device"]] = relationship(back_populates="node", order_by="Device.id")


class Hostname(Base):
    """Global hostname registry (heketi's MANAGE<h>/STORAGE<h> keys)."""

    __tablename__ = "hostnames"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # manage | storage
    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    tags: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="online")
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    free: Mapped[int] = mapped_column(BigInteger, default=0)
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    extent_size: Mapped[int] = mapped_column(BigInteger, default=4096)
    pv_uuid: Mapped[str] = mapped_column(String(64), default="")
    paths: Mapped[list] = mapped_column(JSON, default=list)
    pending_op: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    busy_op: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    node: Mapped[Node] = relationship(back_populates="devices")
    bricks: Mapped[list["Brick"]] = relationship(back_populates="device", order_by="Brick.id")


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (UniqueConstraint("cluster_id", "name", name="uq_volume_cluster_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)  # GiB
    durability: Mapped[dict] = mapped_column(JSON)  # as echoed: {"type", "replicate", "disperse"}
    gid: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[list] = mapped_column(JSON, default=list)  # stored glustervolumeoptions
    block: Mapped[bool] = mapped_column(Boolean, default=False)
    blockinfo: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot_enable: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_factor: Mapped[float] = mapped_column(Float, default=1.0)
    request_clusters: Mapped[list] = mapped_column(JSON, default=list)
    # role whose token created it (admin|user): the user role may change only its own
    # volumes.  Rows from before revision 0002 and imported ones count as admin's.
    created_by: Mapped[str] = mapped_column(String(16), default="admin",
                                            server_default="admin")
    pending_op: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    busy_op: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    cluster: Mapped[Cluster] = relationship(back_populates="volumes")
    bricks: Mapped[list["Brick"]] = relationship(back_populates="volume", order_by="Brick.id")


class Brick(Base):
    __tablename__ = "bricks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)           # KiB, virtual size
    tp_size: Mapped[int] = mapped_column(BigInteger)        # KiB
    pool_metadata_size: Mapped[int] = mapped_column(BigInteger)
    space: Mapped[int] = mapped_column(BigInteger)          # KiB taken from the device
    lvm_thin_pool: Mapped[str] = mapped_column(String(64))
    lvm_lv: Mapped[str] = mapped_column(String(64), default="")
    subtype: Mapped[int] = mapped_column(Integer, default=1)  # 1 normal, 2 arbiter
    set_index: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    pending_op: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)

    volume: Mapped[Volume] = relationship(back_populates="bricks")
    device: Mapped[Device] = relationship(back_populates="bricks")


class Operation(Base):
    """A pending operation: recorded before any node is touched.

    ``spec`` holds everything needed to undo (or finish) the operation after a
    crash: the named steps and their arguments (see ``operations.engine``).
    ``started_steps`` is reserved for steps whose undo is not idempotent; none
    is recorded today.
    """

    __tablename__ = "operations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))          # heketi type_name
    status: Mapped[str] = mapped_column(String(16), default="")  # "" | stale | failed
    owner: Mapped[str] = mapped_column(ID)                 # instance running it
    created_at: Mapped[float] = mapped_column(Float, default=now)
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    changes: Mapped[list] = mapped_column(JSON, default=list)  # [{"id", "description"}]
    started_steps: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    # how it is going (a device/node removal: brick k of n, heal, step), written by the
    # instance running it, shown by every instance's /operations/pending (revision 0005)
    progress: Mapped[str] = mapped_column(Text, default="", server_default="")


class Job(Base):
    """An entry of the async queue (``/queue/{id}``)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    location: Mapped[str] = mapped_column(String(255), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(ID)
    operation_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    # role whose token submitted it (admin|user): only that role (or admin) may read it
    role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Instance(Base):
    """A running pyketi process; its heartbeat tells others it is alive."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    started_at: Mapped[float] = mapped_column(Float, default=now)
    heartbeat: Mapped[float] = mapped_column(Float, default=now)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)


class Attribute(Base):
    __tablename__ = "attributes"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Gid(Base):
    """Server-side GID allocation: one row per gid handed out to a live volume."""

    __tablename__ = "gids"
    gid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    volume_id: Mapped[str] = mapped_column(ID, index=True)


Index("ix_bricks_volume_set", Brick.volume_id, Brick.set_index, Brick.position)


class AuditRecord(Base):
    """One accepted change: who, what, which objects, result and duration (``/audit``)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[float] = mapped_column(Float, default=now, index=True)
    role: Mapped[str] = mapped_column(String(16), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")  # token ``sub``, if any
    remote: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    objects: Mapped[str] = mapped_column(Text, default="")  # ids, space separated
    status: Mapped[int] = mapped_column(Integer)  # HTTP status of the request
    result: Mapped[str] = mapped_column(String(16), index=True)  # accepted|done|failed
    duration: Mapped[float] = mapped_column(Float, default=0.0)  # seconds, to the job's end
    request_id: Mapped[str] = mapped_column(String(128), default="")
    job_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
