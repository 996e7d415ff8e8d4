"""withdrawals to IBAN and PayPal accounts, canceled by customers; PayPal capture attempts

Revision ID: b3c1d2e4f5a6
Revises: 7a4542cfb827
Create Date: 2026-12-01 23:55:00

A withdrawal's destination becomes one of three methods (``japanese_bank``,
``iban``, ``paypal``): its masked form moves from five columns into one JSONB
``destination``, the sealed blob is renamed for what it now holds, and a PayPal
payout records PayPal's batch id. Existing rows are Japanese bank accounts and
are carried over as such.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3c1d2e4f5a6"
down_revision: str | None = "7a4542cfb827"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MASKED_COLUMNS = ("bank_name", "branch", "account_type", "account_number_masked", "holder_name_masked")


def upgrade() -> None:
    op.add_column(
        "paypal_orders", sa.Column("declined_attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "withdrawals", sa.Column("method", sa.String(length=16), server_default="japanese_bank", nullable=False)
    )
    op.add_column("withdrawals", sa.Column("destination", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("withdrawals", sa.Column("payout_reference", sa.String(length=100), nullable=True))
    op.execute(
        """
        UPDATE withdrawals SET destination = jsonb_build_object(
            'method', 'japanese_bank', 'bank_name', bank_name, 'branch', branch, 'account_type', account_type,
            'account_number', account_number_masked, 'holder_name', holder_name_masked)
        """
    )
    op.alter_column("withdrawals", "destination", nullable=False)
    op.alter_column("withdrawals", "sealed_bank_account", new_column_name="sealed_destination")
    for column in _MASKED_COLUMNS:
        op.drop_column("withdrawals", column)
    op.create_check_constraint(
        op.f("ck_withdrawals_method_known"), "withdrawals", "method IN ('japanese_bank', 'iban', 'paypal')"
    )


def downgrade() -> None:
    # Only Japanese bank accounts fit the old columns: a database with other withdrawals cannot go back.
    op.drop_constraint(op.f("ck_withdrawals_method_known"), "withdrawals", type_="check")
    for column, length in zip(_MASKED_COLUMNS, (60, 60, 16, 16, 16), strict=True):
        op.add_column("withdrawals", sa.Column(column, sa.String(length=length), nullable=True))
    op.execute(
        """
        UPDATE withdrawals SET bank_name = destination->>'bank_name', branch = destination->>'branch',
            account_type = destination->>'account_type', account_number_masked = destination->>'account_number',
            holder_name_masked = destination->>'holder_name'
        """
    )
    for column in _MASKED_COLUMNS:
        op.alter_column("withdrawals", column, nullable=False)
    op.alter_column("withdrawals", "sealed_destination", new_column_name="sealed_bank_account")
    op.drop_column("withdrawals", "payout_reference")
    op.drop_column("withdrawals", "destination")
    op.drop_column("withdrawals", "method")
    op.drop_column("paypal_orders", "declined_attempts")
