"""roles of volumes and jobs

The role whose token created a volume (the user role may expand or delete only
its own) and the role that submitted a queue job (only that role, or admin, may
read it).  Existing rows count as admin's: a volume created before this
revision can then be changed only with the admin token.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=16), nullable=False,
                                      server_default='admin'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False,
                                      server_default='admin'))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('role')
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.drop_column('created_by')
