"""idempotent requests: the plumbing's Idempotency-Key table

Revision ID: 8c3f1a6e2d57
Revises: eb5afb0148c1
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

from daiko import idempotency

revision: str = '8c3f1a6e2d57'
down_revision: str | None = 'eb5afb0148c1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency.create_table(op)


def downgrade() -> None:
    idempotency.drop_table(op)
