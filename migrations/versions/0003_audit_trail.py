"""audit trail

One row per accepted change (``GET /audit``): who (role, token subject, remote
address), what (method, route pattern, kind), which objects, the HTTP status,
the result (accepted while its job runs, then done or failed) and the duration.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('time', sa.Float(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('remote', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('route', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('objects', sa.Text(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('duration', sa.Float(), nullable=False),
        sa.Column('request_id', sa.String(length=128), nullable=False),
        sa.Column('job_id', sa.String(length=32), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_time', 'audit', ['time'])
    op.create_index('ix_audit_result', 'audit', ['result'])


def downgrade() -> None:
    op.drop_index('ix_audit_result', table_name='audit')
    op.drop_index('ix_audit_time', table_name='audit')
    op.drop_table('audit')
