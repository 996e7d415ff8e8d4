"""What the deposits routers are handed: the service's one state object, ``Annotated`` onto it, and keyed POSTs.

Every POST that moves money or creates a record runs through
:func:`run_idempotent`, the plumbing's ``Idempotency-Key`` handling
(:mod:`daiko.idempotency`) with the request's transaction around it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.auth import Principal
from daiko.idempotency import Answer, IdempotencyKey, idempotent
from daiko.service import state_getter
from services.deposits.paypal.client import PayPalClient
from services.deposits.settings import DepositsSettings

__all__ = ["DepositsState", "IdempotencyKey", "StateDep", "run_idempotent"]


@dataclass(frozen=True)
class DepositsState:
    settings: DepositsSettings
    sessions: async_sessionmaker[AsyncSession]
    paypal: PayPalClient


StateDep = Annotated[DepositsState, Depends(state_getter(DepositsState))]


async def run_idempotent(
    request: Request,
    state: DepositsState,
    principal: Principal,
    key: str | None,
    body: BaseModel | None,
    status_code: int,
    operation: Callable[[AsyncSession], Awaitable[BaseModel | Answer]],
) -> JSONResponse:
    """Run ``operation`` in one transaction; with a key, at most once per (caller, key).

    An operation answers its body (with ``status_code``), or a whole
    :class:`Answer` when the outcome is a refusal that must still commit and be
    replayed as such (a declined card: the decline is recorded, and a retry
    with the same key is told the same).
    """

    async def answer(session: AsyncSession) -> Answer:
        outcome = await operation(session)
        if isinstance(outcome, Answer):
            return outcome
        return Answer(status_code, outcome.model_dump(mode="json"))

    return await idempotent(
        state.sessions,
        request=request,
        principal=principal,
        key=key,
        body=body.model_dump(mode="json") if body else None,
        operation=answer,
    )
