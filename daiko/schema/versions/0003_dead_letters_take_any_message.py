"""dead letters take any message: text columns without bounds, the record's key, replays

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:00:00

A dead letter must be writable whatever the message holds, or the consumer
has nowhere to put a poison message: the event id and type become ``text``
(an id of 65 characters failed the old ``VARCHAR(64)`` and wedged the
consumer), the topic takes any Kafka topic name (up to 249 characters), and the
record's key is kept beside its bytes. Replays asked for by staff
(``daiko dead-letters replay``) are recorded on the row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("dead_letters", "event_id", type_=sa.Text(), existing_type=sa.String(64))
    op.alter_column("dead_letters", "event_type", type_=sa.Text(), existing_type=sa.String(200))
    op.alter_column("dead_letters", "topic", type_=sa.String(255), existing_type=sa.String(200))
    op.add_column("dead_letters", sa.Column("key", sa.LargeBinary(), nullable=True))
    op.add_column("dead_letters", sa.Column("replay_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dead_letters", sa.Column("replay_requested_by", sa.Text(), nullable=True))
    op.add_column("dead_letters", sa.Column("replays", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("dead_letters", sa.Column("last_replayed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dead_letters", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    # Each consumer polls for replay requests: the partial index keeps that poll free.
    op.create_index(
        "ix_dead_letters_replay_requested",
        "dead_letters",
        ["consumer", "id"],
        unique=False,
        postgresql_where=sa.text("replay_requested_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_dead_letters_replay_requested", table_name="dead_letters")
    for column in ("resolved_at", "last_replayed_at", "replays", "replay_requested_by", "replay_requested_at", "key"):
        op.drop_column("dead_letters", column)
    # Rows written since the upgrade may not fit the old bounds: cut them (the payload keeps the whole message).
    op.execute("UPDATE dead_letters SET event_id = left(event_id, 64), event_type = left(event_type, 200)")
    op.execute("UPDATE dead_letters SET topic = left(topic, 200)")
    op.alter_column("dead_letters", "topic", type_=sa.String(200), existing_type=sa.String(255))
    op.alter_column("dead_letters", "event_type", type_=sa.String(200), existing_type=sa.Text())
    op.alter_column("dead_letters", "event_id", type_=sa.String(64), existing_type=sa.Text())
