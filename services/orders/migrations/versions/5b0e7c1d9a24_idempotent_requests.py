"""idempotent requests: the plumbing's Idempotency-Key table

Revision ID: 5b0e7c1d9a24
Revises: 050d3f2fb5e7
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

from daiko import idempotency

revision: str = '5b0e7c1d9a24'
down_revision: str | None = '050d3f2fb5e7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency.create_table(op)


def downgrade() -> None:
    idempotency.drop_table(op)
