"""``Idempotency-Key`` for every creating POST of the three services, with Stripe's semantics.

* same key, same request: the stored answer is replayed (same status, body and
  ``Location``), with ``Idempotent-Replayed: true``; nothing happens twice;
* same key, another request (method, path or body): 422 ``idempotency-key-reused``;
* same key while the first request is still running: the retry waits for it
  (a double click gets the first answer), up to :data:`IN_FLIGHT_WAIT_SECONDS`;
  then 409 with ``Retry-After`` (type ``retry``, which careful clients retry).

Keys are scoped per caller (role and token subject), so one customer's key
never answers another's request, and rows are purged after :data:`RETENTION`.

How: the request's transaction looks for a stored answer; finding none, it
takes a PostgreSQL advisory lock on (scope, key) (waiting at most
:data:`IN_FLIGHT_WAIT_SECONDS`, then 409), looks again, runs the operation
and stores its answer, all in that transaction. So the effect and
the stored answer commit together or not at all: a failed or crashed attempt
leaves no row and its retry runs afresh. An operation that must commit part
of its work earlier (orders: the order id is fixed before its workflow starts)
keeps its own record of that part, keyed the same way.

The table is the plumbing's (:class:`daiko.tables.IdempotentRequest`), created
in every service database by the plumbing's own migrations (``daiko/schema``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko.auth import Principal
from daiko.db import transaction
from daiko.errors import DomainError, InvalidInput
from daiko.problems import RETRY_AFTER_SECONDS, ProblemType
from daiko.tables import IdempotentRequest

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 200  # the column lengths of daiko.tables.IdempotentRequest
MAX_SCOPE_LENGTH = 150
RETENTION = timedelta(hours=24)  # Stripe's: a client retries within minutes, a day covers an outage
IN_FLIGHT_WAIT_SECONDS = 5.0  # how long a retry waits for the first request with its key before a 409
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Client-chosen key, 1 to 200 printable characters: a retry with the same key and body gets "
        "the first answer (same status) and changes nothing; the same key with another body is a 422; "
        "while the first request is still running, a 409 with `Retry-After`. Keys are kept for 24 hours.",
        examples=["5d1c0a7e-2f6b-4a8e-9d55-3f0b6c1e2a90"],
    ),
]


class IdempotencyKeyReused(DomainError):
    """The key came back with a different request: a client bug, never merged into the first."""

    code = "idempotency-key-reused"


class RequestInFlight(DomainError):
    """The first request with this key has not finished; answering now could only guess."""

    code = "retry"


PROBLEMS: dict[type[Exception], ProblemType] = {
    IdempotencyKeyReused: ProblemType(422, "Idempotency-Key reused"),
    RequestInFlight: ProblemType(409, "Request in progress", {"Retry-After": str(RETRY_AFTER_SECONDS)}),
}
"""Merged into every service's table by the skeleton."""


@dataclass(frozen=True)
class Answer:
    """What a creating POST answers, as stored for its replays."""

    status_code: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self, *, replayed: bool = False) -> JSONResponse:
        headers = {**self.headers, **({REPLAYED_HEADER: "true"} if replayed else {})}
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


def scope_of(principal: Principal) -> str:
    scope = f"{principal.role.value}:{principal.subject}"
    if len(scope) <= MAX_SCOPE_LENGTH:
        return scope
    return f"{principal.role.value}:sha256:{hashlib.sha256(principal.subject.encode()).hexdigest()}"


def fingerprint(method: str, path: str, body: Any) -> str:
    """Same request, same fingerprint, whatever the key order or spacing of its JSON."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"the Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="invalid-idempotency-key",
            title="Invalid Idempotency-Key",
        )
    return key


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    answer: Answer


async def _stored(session: AsyncSession, scope: str, key: str) -> _Stored | None:
    t = IdempotentRequest
    row = (
        await session.execute(
            select(t.fingerprint, t.status_code, t.response, t.headers).where(t.scope == scope, t.key == key)
        )
    ).first()
    if row is None:
        return None
    return _Stored(row.fingerprint, Answer(row.status_code, row.response, row.headers or {}))


_LOCK_NOT_AVAILABLE = "55P03"


async def _wait_for_key(session: AsyncSession, scope: str, key: str) -> None:
    """Hold the key's advisory lock for this transaction; :class:`RequestInFlight` if it stays taken too long.

    A double click waits the few milliseconds its twin needs and gets its
    answer; a first request that is slow (PayPal, Temporal) makes the retry a
    409 instead of a connection held for as long. ``lock_timeout`` is set for
    this one statement only, so the operation's own row locks wait as usual.
    """
    await session.execute(text(f"SET LOCAL lock_timeout = '{int(IN_FLIGHT_WAIT_SECONDS * 1000)}ms'"))
    try:
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(scope + "\x1f" + key, 0))))
    except DBAPIError as exc:
        if str(getattr(exc.orig, "sqlstate", "")) != _LOCK_NOT_AVAILABLE:
            raise
        raise RequestInFlight(
            "a request with this Idempotency-Key is still being processed; retry after a few seconds"
        ) from exc
    await session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))


Operation = Callable[[AsyncSession], Awaitable[Answer]]
ReusedFacts = Callable[[Any], Mapping[str, Any]]


async def run_once(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    operation: Operation,
    reused_facts: ReusedFacts | None = None,
) -> tuple[Answer, bool]:
    """Inside the caller's transaction: the stored answer (True: a replay) or the operation's, now stored.

    ``reused_facts`` picks, from the first answer's body, what a 422 for a
    reused key should tell the client (e.g. the order the key already made).
    """
    stored = await _stored(session, scope, key)
    if stored is None:  # not answered yet: run it, once the first request with the key (if any) has finished
        await _wait_for_key(session, scope, key)
        stored = await _stored(session, scope, key)  # the first request may have answered while we waited
    if stored is not None:
        if stored.fingerprint != fingerprint:
            facts = reused_facts(stored.answer.body) if reused_facts else {}
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; use a new key for a new request",
                title="Idempotency-Key reused",
                **facts,
            )
        return stored.answer, True
    answer = await operation(session)
    await session.execute(
        insert(IdempotentRequest).values(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            status_code=answer.status_code,
            response=answer.body,
            headers=dict(answer.headers),
        )
    )
    return answer, False


async def idempotent(
    sessions: async_sessionmaker[AsyncSession],
    *,
    request: Request,
    principal: Principal,
    key: str | None,
    body: Any,
    operation: Operation,
    reused_facts: ReusedFacts | None = None,
) -> JSONResponse:
    """Run a creating POST in one transaction; with a key, at most once per (caller, key).

    ``body`` is the request as the operation will act on it (JSON-able), which
    is what tells a replay from a different request under the same key.
    """
    async with transaction(sessions) as session:
        if key is None:
            answer, replayed = await operation(session), False
        else:
            answer, replayed = await run_once(
                session,
                scope=scope_of(principal),
                key=check_key(key),
                fingerprint=fingerprint(request.method, request.url.path, body),
                operation=operation,
                reused_facts=reused_facts,
            )
    return answer.response(replayed=replayed)


async def purge(engine: AsyncEngine, retention: timedelta = RETENTION) -> int:
    """Forget keys older than ``retention``; returns how many."""
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < func.now() - retention)
        )
    return int(result.rowcount or 0)
