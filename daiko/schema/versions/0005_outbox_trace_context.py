"""outbox keeps the trace context: each row stores the W3C context it was written in

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00

``trace_context`` holds the ``traceparent`` (and ``tracestate``) fields of the
transaction that queued the event (``daiko.tracing.current_carrier``); the relay
sends them as Kafka headers inside its producer span, so the consumer's span
continues the writer's trace. Nullable: rows written outside a trace, or
before this revision, carry none and start a trace of their own downstream.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "trace_context")
