"""progress of an operation

How a running operation is going (a device or node removal: which brick of how
many, the heal state, the step), written by the instance running it, so that
``GET /operations/pending`` of every instance sharing the database shows it.
Rows from before have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', sa.Text(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_column('progress')
