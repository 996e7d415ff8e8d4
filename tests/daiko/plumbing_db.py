"""A scratch database for testing the shared plumbing without touching any service's tables."""

from __future__ import annotations

import asyncpg
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.consumer import DeadLetterMixin, ProcessedEventMixin
from daiko.db import new_metadata
from daiko.outbox import OutboxMixin
from daiko.settings import DaikoSettings

DATABASE = "daiko_test_plumbing"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class Effect(Base):
    """What a test consumer does: add ``amount`` to a counter, so a double apply shows."""

    __tablename__ = "effects"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


async def ensure_database(settings: DaikoSettings) -> str:
    conn = await asyncpg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user, database="postgres"
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return settings.database_url(DATABASE)
