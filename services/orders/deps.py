"""Dependencies of the orders routers (``Annotated`` aliases keep route signatures short).

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its
thread pool, a thread hop per dependency per request on the hottest path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko.problems import Problem
from services.orders.domain import PageCursor
from services.orders.settings import OrdersSettings


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def get_reads(request: Request) -> AsyncEngine:
    """The engine for reads: autocommit, so a read is one round trip (no BEGIN / ROLLBACK)."""
    reads: AsyncEngine = request.app.state.reads
    return reads


async def get_settings(request: Request) -> OrdersSettings:
    settings: OrdersSettings = request.app.state.settings
    return settings


async def page_cursor(
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")] = None,
) -> PageCursor | None:
    if cursor is None:
        return None
    try:
        return PageCursor.decode(cursor)
    except ValueError:
        raise Problem(
            422,
            "Invalid request",
            "invalid fields: cursor",
            code="validation-error",
            errors=[{"field": "query.cursor", "message": "not a cursor returned by this API"}],
        ) from None


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
ReadsDep = Annotated[AsyncEngine, Depends(get_reads)]
SettingsDep = Annotated[OrdersSettings, Depends(get_settings)]
CursorDep = Annotated[PageCursor | None, Depends(page_cursor)]
OrderId = Annotated[str, Path(min_length=1, max_length=64, description="the order id", examples=["P261126-7KQ2M9XA"])]
Limit = Annotated[int, Query(ge=1, le=100, description="orders per page")]
