"""What the orders routers are handed: the service's one state object and ``Annotated`` aliases onto it.

The state is built once in :func:`services.orders.app.build_app`; routes ask
for the part they need (``SessionsDep``, ``ReadsDep``, ...) and FastAPI
resolves the state once per request. The aliases are ``async def`` on purpose:
a plain ``def`` dependency runs in FastAPI's thread pool, a thread hop per
dependency per request on the hottest path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko.params import OrderIdPath
from daiko.problems import invalid_request
from daiko.service import state_getter
from services.orders.details import OrderDetails
from services.orders.domain import PageCursor
from services.orders.gateway import OrderWorkflows
from services.orders.settings import OrdersSettings


@dataclass(frozen=True)
class OrdersState:
    settings: OrdersSettings
    sessions: async_sessionmaker[AsyncSession]
    reads: AsyncEngine  # autocommit, same pool: a read is one round trip (no BEGIN / ROLLBACK)
    workflows: OrderWorkflows
    details: OrderDetails  # the order-details read: its own small asyncpg pool, one statement


StateDep = Annotated[OrdersState, Depends(state_getter(OrdersState))]


async def _sessions(state: StateDep) -> async_sessionmaker[AsyncSession]:
    return state.sessions


async def _reads(state: StateDep) -> AsyncEngine:
    return state.reads


async def _settings(state: StateDep) -> OrdersSettings:
    return state.settings


async def _workflows(state: StateDep) -> OrderWorkflows:
    return state.workflows


async def page_cursor(
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")] = None,
) -> PageCursor | None:
    if cursor is None:
        return None
    try:
        return PageCursor.decode(cursor)
    except ValueError:
        raise invalid_request(
            errors=[{"field": "query.cursor", "message": "not a cursor returned by this API"}]
        ) from None


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
ReadsDep = Annotated[AsyncEngine, Depends(_reads)]
SettingsDep = Annotated[OrdersSettings, Depends(_settings)]
WorkflowsDep = Annotated[OrderWorkflows, Depends(_workflows)]
CursorDep = Annotated[PageCursor | None, Depends(page_cursor)]
OrderId = OrderIdPath
Limit = Annotated[int, Query(ge=1, le=100, description="orders per page")]
