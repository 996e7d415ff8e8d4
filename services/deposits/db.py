"""Tables of the deposits database."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from daiko.consumer import ProcessedEventMixin
from daiko.db import new_metadata
from daiko.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
