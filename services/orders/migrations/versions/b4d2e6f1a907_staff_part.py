"""the staff part of each order (internal notes, rejected signals, staff alerts), apart from the customer's view

Revision ID: b4d2e6f1a907
Revises: b4e2d19c7a60
Create Date: 2026-12-01 23:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b4d2e6f1a907"
down_revision: str | None = "b4e2d19c7a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("staff_view", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "staff_view")
