"""The plumbing's Idempotency-Key store on a real database: run once, replay, refuse reuse, in flight, purge."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko import idempotency
from daiko.idempotency import Answer, IdempotencyKeyReused, RequestInFlight, run_once
from daiko.tables import IdempotentRequest

pytestmark = pytest.mark.stack


def _key() -> tuple[str, str]:
    return f"customer:cust-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())


async def test_the_first_answer_is_stored_with_the_effect_and_replayed_as_it_was(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    sessions = db_sessions["messaging"]
    scope, key = _key()
    runs = 0

    async def create(_: AsyncSession) -> Answer:
        nonlocal runs
        runs += 1
        return Answer(202, {"id": "m-1", "state": "pending"}, {"Location": "/v1/orders/X/messages"})

    for expected_replay in (False, True, True):
        async with sessions() as session, session.begin():
            answer, replayed = await run_once(session, scope=scope, key=key, fingerprint="f1", operation=create)
        assert (answer.status_code, answer.body, dict(answer.headers)) == (
            202,
            {"id": "m-1", "state": "pending"},
            {"Location": "/v1/orders/X/messages"},
        )
        assert replayed is expected_replay
    assert runs == 1

    async with sessions() as session, session.begin():
        with pytest.raises(IdempotencyKeyReused) as reused:
            await run_once(
                session,
                scope=scope,
                key=key,
                fingerprint="f2",
                operation=create,
                reused_facts=lambda first: {"first_id": first["id"]},
            )
    assert reused.value.facts == {"first_id": "m-1"}
    async with sessions() as session, session.begin():  # another caller's key is another key
        _, replayed = await run_once(session, scope=scope + "-other", key=key, fingerprint="f2", operation=create)
    assert not replayed and runs == 2


async def test_a_failed_operation_leaves_no_key_so_its_retry_runs_afresh(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    sessions = db_sessions["messaging"]
    scope, key = _key()

    async def fails(_: AsyncSession) -> Answer:
        raise RuntimeError("the store is full")

    async def works(_: AsyncSession) -> Answer:
        return Answer(201, {"ok": True})

    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await run_once(session, scope=scope, key=key, fingerprint="f", operation=fails)
    async with sessions() as session, session.begin():
        answer, replayed = await run_once(session, scope=scope, key=key, fingerprint="f", operation=works)
    assert (answer.status_code, replayed) == (201, False)


async def test_a_retry_while_the_first_request_still_runs_is_a_409_then_replays_once_it_is_done(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_SECONDS", 0.2)
    sessions = db_sessions["messaging"]
    scope, key = _key()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(_: AsyncSession) -> Answer:
        started.set()
        await release.wait()
        return Answer(201, {"id": "slow"})

    async def first() -> Answer:
        async with sessions() as session, session.begin():
            answer, _ = await run_once(session, scope=scope, key=key, fingerprint="f", operation=slow)
        return answer

    running = asyncio.create_task(first())
    await started.wait()
    async with sessions() as session, session.begin():
        with pytest.raises(RequestInFlight):
            await run_once(session, scope=scope, key=key, fingerprint="f", operation=slow)
    release.set()
    assert (await running).body == {"id": "slow"}
    async with sessions() as session, session.begin():
        answer, replayed = await run_once(session, scope=scope, key=key, fingerprint="f", operation=slow)
    assert (answer.body, replayed) == ({"id": "slow"}, True)


async def test_keys_older_than_the_retention_are_purged(
    database_engines: dict[str, AsyncEngine],
) -> None:
    engine = database_engines["orders"]
    scope, key = _key()
    async with engine.begin() as conn:
        for name, age in (("old", idempotency.RETENTION * 2), ("new", idempotency.RETENTION / 2)):
            await conn.execute(
                insert(IdempotentRequest).values(
                    scope=scope,
                    key=f"{key}-{name}",
                    fingerprint="f",
                    status_code=201,
                    response={},
                    created_at=func.now() - age,
                )
            )
    assert await idempotency.purge(engine) >= 1
    async with engine.connect() as conn:
        mine = select(IdempotentRequest.key).where(IdempotentRequest.scope == scope)
        left = (await conn.execute(mine)).scalars().all()
    assert left == [f"{key}-new"]
