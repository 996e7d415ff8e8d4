"""The plumbing's own tables, defined once and created in every service's database.

The outbox, the processed-events ids, the dead letters and the answers kept
for ``Idempotency-Key`` work the same in each service, so their definition
lives here, mapped on a metadata of its own and migrated by the plumbing's
Alembic history (``daiko/schema``, version table ``daiko_plumbing_version``)
before each service's own history. A service's models never redeclare them;
the service's sessions use these classes directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.consumer import ProcessedEventMixin
from daiko.db import new_metadata
from daiko.dead_letters import DeadLetterMixin
from daiko.outbox import OutboxMixin


class PlumbingBase(DeclarativeBase):
    metadata = new_metadata()


class Outbox(OutboxMixin, PlumbingBase):
    pass


class ProcessedEvent(ProcessedEventMixin, PlumbingBase):
    # Ids are purged by age (``daiko.housekeeping``), long after Kafka could redeliver them.
    __table_args__ = (Index("ix_processed_events_processed_at", "processed_at"),)


class DeadLetter(DeadLetterMixin, PlumbingBase):
    pass


class IdempotentRequest(PlumbingBase):
    """A creating POST made with an ``Idempotency-Key`` and the answer it got (``daiko.idempotency``).

    Written in the request's own transaction, with its effect; purged by age.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (Index("ix_idempotent_requests_created_at", "created_at"),)

    scope: Mapped[str] = mapped_column(String(150), primary_key=True)  # who asked: role and token subject
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body, hashed
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSONB)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
