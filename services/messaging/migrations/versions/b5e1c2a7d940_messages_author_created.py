"""messages by author and time, for the per-customer caps

Revision ID: b5e1c2a7d940
Revises: 6d3433c92fc1
Create Date: 2026-12-01 18:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b5e1c2a7d940"
down_revision: str | None = "6d3433c92fc1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_author_created", "messages", ["author_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_author_created", table_name="messages")
