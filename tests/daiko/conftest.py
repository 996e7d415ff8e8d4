from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.db import make_engine, make_session_factory
from tests.conftest import StackSettings
from tests.daiko.plumbing_db import Base, Outbox, ensure_database, migrate


@pytest.fixture(scope="session")
async def plumbing_db(stack: StackSettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Scratch database with the plumbing's tables (migrated) and the test consumers' effects table."""
    engine = make_engine(await ensure_database(stack), pool_size=5)
    await migrate(stack)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def empty_outbox(plumbing_db: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with plumbing_db() as session, session.begin():
        await session.execute(delete(Outbox))
    return plumbing_db
