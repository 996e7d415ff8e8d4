"""``Idempotency-Key`` for HTTP: a retried POST gets the first answer instead of a second effect.

The key is claimed by inserting a row in the request's own transaction, before
the operation runs; a concurrent retry with the same key waits on that row's
unique index until the first commits, then replays its stored answer. If the
operation fails, the transaction (claim included) rolls back, and a retry runs
afresh. Keys are scoped to who sends them, so one customer's key never answers
another's request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.auth import Principal
from daiko.problems import Problem
from services.deposits.db import IdempotentRequest

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Stored:
    status_code: int
    body: Any


def scope_of(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.subject}"


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            422,
            "Invalid Idempotency-Key",
            f"the Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="invalid-idempotency-key",
        )
    return key


async def claim(session: AsyncSession, *, scope: str, key: str, fingerprint: str) -> Stored | None:
    """None: this request is the first with the key and must run. Otherwise the answer to replay."""
    inserted = await session.execute(
        insert(IdempotentRequest)
        .values(scope=scope, key=key, fingerprint=fingerprint, status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(IdempotentRequest.key)
    )
    if inserted.first() is not None:
        return None
    row = await session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
    )
    if row is None:  # pragma: no cover - the conflicting row cannot vanish after a conflict
        raise Problem(409, "Request in progress", "retry the request", code="idempotency-retry")
    if row.fingerprint != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "this Idempotency-Key was already used for a different request",
            code="idempotency-key-reused",
        )
    return Stored(row.status_code, row.response)


async def remember(session: AsyncSession, *, scope: str, key: str, status_code: int, body: Any) -> None:
    await session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .values(status_code=status_code, response=body)
    )
