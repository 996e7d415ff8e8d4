"""outbox notifies on commit: a statement trigger wakes the relay instead of its next poll

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00

Every statement that inserts into ``outbox`` calls ``pg_notify('daiko_outbox', '')``.
PostgreSQL delivers a notification only when (and if) the transaction commits,
and folds identical notifications of one transaction into one, so a relay that
LISTENs on the channel (``daiko.outbox.OutboxRelay``) wakes once per committed
transaction that queued events, and never for one that rolled back. The relay's
poll stays as a safety net for a lost connection or a missed notification.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match daiko.outbox.NOTIFY_CHANNEL; spelled out here because a migration is frozen in time.
CHANNEL = "daiko_outbox"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION daiko_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    # Per statement, not per row: a transaction queuing 200 events costs one notification call per INSERT.
    op.execute(
        "CREATE TRIGGER outbox_notify_on_commit AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION daiko_outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify_on_commit ON outbox")
    op.execute("DROP FUNCTION IF EXISTS daiko_outbox_notify()")
