"""idempotent requests: the plumbing's Idempotency-Key table replaces the deposits' own

The rows are kept: a key used before the upgrade still replays its answer.

Revision ID: 3e9a5d2b7f18
Revises: 6ebe8b3cdb77
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

from daiko import idempotency

revision: str = '3e9a5d2b7f18'
down_revision: str | None = '6ebe8b3cdb77'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.rename_table('idempotent_requests', 'idempotent_requests_before')
    op.execute('ALTER TABLE idempotent_requests_before RENAME CONSTRAINT pk_idempotent_requests TO pk_idempotent_requests_before')
    idempotency.create_table(op)
    op.execute(
        'INSERT INTO idempotent_requests (scope, key, fingerprint, status_code, response, created_at) '
        'SELECT scope, key, fingerprint, status_code, response, created_at FROM idempotent_requests_before'
    )
    op.drop_table('idempotent_requests_before')


def downgrade() -> None:
    op.drop_index('ix_idempotent_requests_created_at', table_name='idempotent_requests')
    op.drop_column('idempotent_requests', 'headers')
