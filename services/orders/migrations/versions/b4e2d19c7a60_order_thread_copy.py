"""order thread copy: the latest messages and read cursors of each order, from messaging's events (R1)

Revision ID: b4e2d19c7a60
Revises: 7c3e9a2d41f5
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e2d19c7a60"
down_revision: str | None = "7c3e9a2d41f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_messages",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notice_type", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_count", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_order_messages")),
    )
    op.create_index(
        "ix_order_messages_order_latest",
        "order_messages",
        ["order_id", sa.text("seq DESC NULLS LAST"), sa.text("posted_at DESC")],
        unique=False,
    )
    op.create_table(
        "order_message_reads",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("customer_read_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("staff_read_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_message_reads")),
    )


def downgrade() -> None:
    op.drop_table("order_message_reads")
    op.drop_index("ix_order_messages_order_latest", table_name="order_messages")
    op.drop_table("order_messages")
