"""Async SQLAlchemy engine and sessions, one database per service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Stable constraint names make Alembic migrations reproducible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = False) -> AsyncEngine:
    """Without pre-ping a checkout costs no extra round trip (it tripled the cost of a read-model
    GET); a connection broken by a PostgreSQL restart is discarded when its first use fails, and
    connections are recycled every few minutes anyway."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=pre_ping, pool_recycle=300)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: state change and its outbox rows commit together or not at all."""
    async with factory() as session, session.begin():
        yield session


MAX_BIGINT = 2**63 - 1
"""The largest id or offset PostgreSQL's bigint holds: bound every integer query parameter by it."""

# SQLSTATE classes meaning "the database cannot serve now": 08 connection exception,
# 53 insufficient resources, 57 operator intervention (e.g. 57P03 "starting up" after a crash).
_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "53", "57"}


def database_unavailable(exc: BaseException) -> bool:
    """PostgreSQL down, restarting or unreachable: an outage to wait out, not a fault of the request.

    A query cut off by a crash or refused during crash recovery arrives as a plain ``DBAPIError``,
    so the SQLSTATE and SQLAlchemy's invalidation flag are what tell it apart from a real bug.
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | OSError):
        return True
    # asyncpg's own errors, for reads that bypass SQLAlchemy (services/orders/details.py): a lost or
    # cut-off connection, or PostgreSQL starting up or shutting down.
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "")[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(exc, DBAPIError):
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
        return bool(exc.connection_invalidated) or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    return False
