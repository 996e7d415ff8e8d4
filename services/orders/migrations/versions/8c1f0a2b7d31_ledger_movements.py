"""ledger movements: what the ledger signed for each order, for reconciliation

Revision ID: 8c1f0a2b7d31
Revises: 46d1338f3b16
Create Date: 2026-12-01 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c1f0a2b7d31"
down_revision: str | None = "46d1338f3b16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_movements",
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_ledger_movements")),
    )
    op.create_index(op.f("ix_ledger_movements_order_id"), "ledger_movements", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_movements_order_id"), table_name="ledger_movements")
    op.drop_table("ledger_movements")
