"""The hot path's statements through the driver (``db/fast.py``, SQLite) write and read
exactly what SQLAlchemy's ``conn.execute`` does: JSON, booleans, floats and NULLs
included; a failing statement raises SQLAlchemy's exception and rolls the transaction
back; the guarded device update still refuses to overbook.  On PostgreSQL the same
functions go through SQLAlchemy (the same assertions hold)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pyketi.db import statements as sql
from pyketi.db.models import Cluster, Device, Node, Volume


def volume(vid: str, **extra) -> dict:
    values = dict(id=vid, cluster_id="c" * 32, name=f"vol_{vid}", size=3,
                  durability={"type": "replicate", "replicate": {"replica": 3}}, gid=2001,
                  options=["performance.rda-cache-limit 10MB", ""], block=True,
                  blockinfo={"freesize": 1, "reservedsize": 2}, snapshot_enable=False,
                  snapshot_factor=1, request_clusters=[], created_by="user",
                  pending_op=None, busy_op=None, created_at=1234.5)
    values.update(extra)
    return values


def test_rows_written_and_read_as_sqlalchemy_does(db):
    def setup(s):
        s.add(Cluster(id="c" * 32, block=True, file=False))
        s.flush()
        sql.insert_volume(s.connection(), volume("a" * 32))                     # fast path
        s.connection().execute(sql._INSERT_VOLUME, volume("b" * 32))             # SQLAlchemy
        sql.insert_volume(s.connection(), volume("d" * 32, blockinfo=None, gid=0,
                                                 pending_op="e" * 32))
    db.write_sync(setup)

    def read(s):
        conn = s.connection()
        by_sqlalchemy = {r.id: r for r in conn.execute(select(*Volume.__table__.c))}
        by_fast = {vid: sql.volume_row(conn, vid) for vid in by_sqlalchemy}
        return by_sqlalchemy, by_fast, sql.cluster_row(conn, "c" * 32)
    by_sqlalchemy, by_fast, cluster = db.read_sync(read)
    a, b = by_sqlalchemy["a" * 32], by_sqlalchemy["b" * 32]
    assert tuple(a)[2:] == (f"vol_{'a' * 32}",) + tuple(b)[3:]  # same stored values
    assert a.durability == {"type": "replicate", "replicate": {"replica": 3}}
    assert a.block is True and a.snapshot_factor == 1.0 and a.pending_op is None
    for vid, row in by_sqlalchemy.items():
        fast = by_fast[vid]
        assert tuple(fast) == tuple(row)
        assert [type(v) for v in fast] == [type(v) for v in row]
        assert fast.durability == row.durability and fast.block is row.block
    assert by_fast["d" * 32].blockinfo is None and by_fast["d" * 32].pending_op == "e" * 32
    assert (cluster.block, cluster.file) == (True, False)


def test_a_failed_statement_raises_sqlalchemys_error_and_rolls_back(db):
    job = dict(id="a" * 32, status="pending", owner="o" * 32, operation_id=None,
               role="admin", location="", error="", created_at=1.0, finished_at=None)

    def twice(s):
        sql.insert_job(s.connection(), job)
        sql.insert_job(s.connection(), job)
    with pytest.raises(IntegrityError):
        db.write_sync(twice)
    assert db.read_sync(lambda s: sql.job_row(s.connection(), "a" * 32)) is None
    db.write_sync(lambda s: sql.insert_job(s.connection(), job))
    row = db.read_sync(lambda s: sql.job_row(s.connection(), "a" * 32))
    assert (row.status, row.role, row.finished_at) == ("pending", "admin", None)


def test_device_space_is_never_overbooked(db):
    def setup(s):
        s.add(Cluster(id="c" * 32))
        s.add(Node(id="n" * 32, cluster_id="c" * 32, zone=1, manage_hostnames=["m"],
                   storage_hostnames=["10.0.0.1"]))
        s.add_all([Device(id=str(i) * 32, node_id="n" * 32, name=f"/dev/sd{i}", total=100,
                          free=100) for i in range(3)])
    db.write_sync(setup)

    def free(s):
        return [d.free for d in s.execute(select(Device).order_by(Device.id)).scalars()]
    assert db.write_sync(lambda s: sql.take_space_of(s.connection(), {"0" * 32: 60,
                                                                      "1" * 32: 60}))
    def take(s):  # as placement_db.take_space: a refusal rolls the transaction back
        if not sql.take_space_of(s.connection(), {"1" * 32: 50, "2" * 32: 50}):
            raise RuntimeError("overbooked")
    with pytest.raises(RuntimeError):  # the second device has 40 left
        db.write_sync(take)
    db.write_sync(lambda s: sql.give_space(s.connection(), {"0" * 32: 10, "2" * 32: 0}))
    assert db.read_sync(free) == [50, 40, 100]
