"""halted orders: orders whose workflow ended abnormally, their settlement, the run of each read model

Revision ID: 7c3e9a2d41f5
Revises: 8c1f0a2b7d31
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c3e9a2d41f5'
down_revision: str | None = '8c1f0a2b7d31'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('run_id', sa.String(length=64), nullable=True))
    op.create_table('halted_orders',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('status_before', sa.String(length=32), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('workflow_ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('detected_by', sa.String(length=32), nullable=False),
    sa.Column('refund_key', sa.String(length=200), nullable=True),
    sa.Column('refund_amount', sa.BigInteger(), nullable=True),
    sa.Column('refund_requested_by', sa.String(length=128), nullable=True),
    sa.Column('refund_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settlement', sa.String(length=16), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settlement_detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_halted_orders'))
    )
    op.create_index(op.f('ix_halted_orders_customer_id'), 'halted_orders', ['customer_id'], unique=False)
    op.create_index('ix_halted_orders_newest', 'halted_orders', [sa.literal_column('detected_at DESC'), sa.literal_column('order_id DESC')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_halted_orders_newest', table_name='halted_orders')
    op.drop_index(op.f('ix_halted_orders_customer_id'), table_name='halted_orders')
    op.drop_table('halted_orders')
    op.drop_column('orders', 'run_id')
