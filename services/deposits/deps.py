"""What the routers share: the service's state, idempotent POSTs, and ledger errors as problems."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.auth import Principal
from daiko.db import transaction
from daiko.problems import PROBLEM_SCHEMA, Problem, problem_response
from services.deposits import idempotency
from services.deposits.domain import DepositRuleError
from services.deposits.ledger import InsufficientFunds, LedgerError, PendingAlreadyResolved
from services.deposits.paypal import PayPalClient
from services.deposits.settings import DepositsSettings


@dataclass
class DepositsState:
    settings: DepositsSettings
    sessions: async_sessionmaker[AsyncSession]
    paypal: PayPalClient


def deposits_state(request: Request) -> DepositsState:
    state: DepositsState = request.app.state.deposits
    return state


StateDep = Annotated[DepositsState, Depends(deposits_state)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Client-chosen key: a retry with the same key and body returns the first answer and "
        "changes nothing; the same key with another body is a 422.",
        examples=["5d1c0a7e-2f6b-4a8e-9d55-3f0b6c1e2a90"],
    ),
]


async def run_idempotent(
    request: Request,
    state: DepositsState,
    principal: Principal,
    key: str | None,
    body: BaseModel | None,
    status_code: int,
    operation: Callable[[AsyncSession], Awaitable[BaseModel]],
) -> JSONResponse:
    """Run ``operation`` in one transaction; with a key, at most once per (caller, key)."""
    async with transaction(state.sessions) as session:
        if key is not None:
            idempotency.check_key(key)
            scope = idempotency.scope_of(principal)
            fp = idempotency.fingerprint(
                request.method, request.url.path, body.model_dump(mode="json") if body else None
            )
            stored = await idempotency.claim(session, scope=scope, key=key, fingerprint=fp)
            if stored is not None:
                return JSONResponse(
                    stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
                )
        result = (await operation(session)).model_dump(mode="json")
        if key is not None:
            await idempotency.remember(session, scope=scope, key=key, status_code=status_code, body=result)
    return JSONResponse(result, status_code=status_code)


def ledger_problem(exc: LedgerError | DepositRuleError) -> Problem:
    if isinstance(exc, InsufficientFunds):
        return Problem(
            409,
            "Insufficient deposit",
            f"the available deposit is {exc.available} yen, {exc.shortfall} yen short of {exc.requested} yen",
            code=exc.code,
            available=exc.available,
            requested=exc.requested,
            shortfall=exc.shortfall,
        )
    if isinstance(exc, DepositRuleError):
        return Problem(exc.status, "Operation refused", str(exc), code=exc.code)
    status = 409 if isinstance(exc, PendingAlreadyResolved) else 422
    return Problem(status, "Ledger refused the transfer", str(exc), code=exc.code)


def install_error_handlers(app: FastAPI) -> None:
    async def _ledger(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LedgerError | DepositRuleError)
        return problem_response(ledger_problem(exc), request)

    async def _integrity(request: Request, exc: Exception) -> JSONResponse:
        # Two requests raced on a unique row (a key, an id): nothing was written; a retry is answered properly.
        return problem_response(
            Problem(409, "Concurrent update", "a concurrent request changed the same record; retry", code="retry"),
            request,
        )

    app.add_exception_handler(LedgerError, _ledger)
    app.add_exception_handler(DepositRuleError, _ledger)
    app.add_exception_handler(IntegrityError, _integrity)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=``: every listed status answers with problem JSON."""
    return {status: PROBLEM_SCHEMA for status in (401, 422, *statuses)}
