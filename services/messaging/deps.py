"""What the messaging routers are handed: the service's one state object and ``Annotated`` aliases onto it.

The state is built once in :func:`services.messaging.app.build_app`; the
aliases are ``async def`` so FastAPI resolves them without a thread hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.db import MAX_BIGINT
from daiko.params import OrderIdPath
from daiko.service import state_getter
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentStore


@dataclass(frozen=True)
class MessagingState:
    settings: MessagingSettings
    sessions: async_sessionmaker[AsyncSession]
    store: AttachmentStore


StateDep = Annotated[MessagingState, Depends(state_getter(MessagingState))]


async def _sessions(state: StateDep) -> async_sessionmaker[AsyncSession]:
    return state.sessions


async def _store(state: StateDep) -> AttachmentStore:
    return state.store


async def _settings(state: StateDep) -> MessagingSettings:
    return state.settings


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
StoreDep = Annotated[AttachmentStore, Depends(_store)]
SettingsDep = Annotated[MessagingSettings, Depends(_settings)]
OrderId = OrderIdPath
After = Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Only messages after this seq (paging)")]
Limit = Annotated[int, Query(ge=1, le=500)]
