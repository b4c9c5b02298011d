"""volume count per cluster

``clusters.volume_count``: how many rows of ``volumes`` name the cluster, kept by
triggers on ``volumes`` (insert, delete, a change of ``cluster_id``) in the transaction
that changes the rows, so every writer keeps it (operations, ``db import``, repairs,
hand-written SQL).  heketi's ``max_volumes_per_cluster`` check reads it with the
cluster's row instead of counting the cluster's volumes on every create (PostgreSQL
walked up to 10,000 index entries per create).  Exact under concurrency: the trigger's
``UPDATE`` of the cluster row is serialized with the create's ``SELECT ... FOR UPDATE``
of that row (PostgreSQL) or by the single writer (SQLite).  Initialised from the rows
present at upgrade time.

A later migration that rebuilds ``volumes`` through ``batch_alter_table`` on SQLite
(copy-and-move) drops its triggers: it must create them again
(``create_volume_count_triggers``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE FUNCTION pyketi_volume_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE clusters SET volume_count = volume_count - 1 WHERE id = OLD.cluster_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE clusters SET volume_count = volume_count + 1 WHERE id = NEW.cluster_id;
    END IF;
    RETURN NULL;
END
$$"""
_PG_TRIGGERS = (
    "CREATE TRIGGER volumes_count_insert_delete AFTER INSERT OR DELETE ON volumes"
    " FOR EACH ROW EXECUTE FUNCTION pyketi_volume_count()",
    "CREATE TRIGGER volumes_count_move AFTER UPDATE OF cluster_id ON volumes"
    " FOR EACH ROW WHEN (OLD.cluster_id IS DISTINCT FROM NEW.cluster_id)"
    " EXECUTE FUNCTION pyketi_volume_count()",
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER volumes_count_insert AFTER INSERT ON volumes BEGIN"
    " UPDATE clusters SET volume_count = volume_count + 1 WHERE id = NEW.cluster_id; END",
    "CREATE TRIGGER volumes_count_delete AFTER DELETE ON volumes BEGIN"
    " UPDATE clusters SET volume_count = volume_count - 1 WHERE id = OLD.cluster_id; END",
    "CREATE TRIGGER volumes_count_move AFTER UPDATE OF cluster_id ON volumes"
    " WHEN OLD.cluster_id IS NOT NEW.cluster_id BEGIN"
    " UPDATE clusters SET volume_count = volume_count - 1 WHERE id = OLD.cluster_id;"
    " UPDATE clusters SET volume_count = volume_count + 1 WHERE id = NEW.cluster_id; END",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_volume_count_triggers() -> None:
    if _postgresql():
        op.execute(_PG_FUNCTION)
        for ddl in _PG_TRIGGERS:
            op.execute(ddl)
    else:
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)


def drop_volume_count_triggers() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS volumes_count_move ON volumes")
        op.execute("DROP TRIGGER IF EXISTS volumes_count_insert_delete ON volumes")
        op.execute("DROP FUNCTION IF EXISTS pyketi_volume_count()")
    else:
        for name in ("volumes_count_move", "volumes_count_delete", "volumes_count_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volume_count', sa.Integer(), nullable=False,
                                      server_default='0'))
    # triggers first: creating them locks ``volumes`` against writes until the upgrade
    # commits (PostgreSQL), so the count below sees every row written without them
    create_volume_count_triggers()
    op.execute("UPDATE clusters SET volume_count = (SELECT count(*) FROM volumes"
               " WHERE volumes.cluster_id = clusters.id)")


def downgrade() -> None:
    drop_volume_count_triggers()
    # SQLite >= 3.35 drops a column in place; a batch copy-and-move of ``clusters``
    # would drop the table its nodes and volumes reference (foreign keys are on)
    op.execute("ALTER TABLE clusters DROP COLUMN volume_count")
