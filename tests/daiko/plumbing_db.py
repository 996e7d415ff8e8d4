"""A scratch database for testing the shared plumbing without touching any service's tables.

It holds the plumbing's own tables, migrated by the plumbing's Alembic history
exactly as a service database is (so the tests also run the migrations), and
the test consumers' ``effects``.
"""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.db import new_metadata
from daiko.migrations import PLUMBING_SCHEMA, alembic_config
from daiko.tables import DeadLetter as DeadLetter
from daiko.tables import Outbox as Outbox
from daiko.tables import ProcessedEvent as ProcessedEvent
from tests.conftest import StackSettings

DATABASE = "daiko_test_plumbing"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Effect(Base):
    """What a test consumer does: add ``amount`` to a counter, so a double apply shows."""

    __tablename__ = "effects"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


async def ensure_database(settings: StackSettings) -> str:
    conn = await asyncpg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user, database="postgres"
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return settings.database_url(DATABASE)


async def migrate(settings: StackSettings) -> None:
    """The plumbing's history to head; tables an older fixture made without it are dropped first."""
    conn = await asyncpg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user, database=DATABASE
    )
    try:
        if not await conn.fetchval("SELECT to_regclass('daiko_plumbing_version') IS NOT NULL"):
            await conn.execute("DROP TABLE IF EXISTS outbox, processed_events, dead_letters, idempotent_requests")
    finally:
        await conn.close()
    config = alembic_config(PLUMBING_SCHEMA, settings.database_url(DATABASE))
    await asyncio.to_thread(command.upgrade, config, "head")  # its env runs an event loop of its own
