"""The plumbing's own tables, defined once and created in every service's database.

The outbox, the processed-events ids and the dead letters work the same in each
service, so their definition lives here, mapped on a metadata of its own and
migrated by the plumbing's Alembic history (``daiko/schema``, version table
``daiko_plumbing_version``) before each service's own history. A service's
models never redeclare them; the service's sessions use these classes directly.
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import DeclarativeBase

from daiko.consumer import DeadLetterMixin, ProcessedEventMixin
from daiko.db import new_metadata
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
