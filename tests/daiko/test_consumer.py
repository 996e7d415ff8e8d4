"""Idempotent consumer: an event delivered twice is applied once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import IdempotentConsumer, apply_once
from daiko.events import Envelope
from daiko.kafka import committed_consumer, idempotent_producer
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DeadLetter, Effect, ProcessedEvent

pytestmark = pytest.mark.stack


def _adder(name: str) -> Callable[[AsyncSession, Envelope], Awaitable[None]]:
    async def add(session: AsyncSession, event: Envelope) -> None:
        amount = int(event.data["amount"])
        await session.execute(
            insert(Effect)
            .values(name=name, total=amount)
            .on_conflict_do_update(index_elements=[Effect.name], set_={"total": Effect.total + amount})
        )

    return add


async def _total(sessions: async_sessionmaker[AsyncSession], name: str) -> int | None:
    async with sessions() as session:
        return await session.scalar(select(Effect.total).where(Effect.name == name))


async def test_the_same_event_applied_twice_in_the_database_counts_once(
    plumbing_db: async_sessionmaker[AsyncSession],
) -> None:
    name = f"direct-{uuid.uuid4().hex[:8]}"
    event = Envelope(type="test.added", source="tests", subject=name, data={"amount": 100})
    results = []
    for _ in range(2):
        async with plumbing_db() as session, session.begin():
            results.append(await apply_once(session, ProcessedEvent, "adder", event, _adder(name)))
    assert results == [True, False]
    assert await _total(plumbing_db, name) == 100


async def test_a_redelivered_kafka_event_is_applied_once(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("consumer")
    name = f"kafka-{uuid.uuid4().hex[:8]}"
    events = [Envelope(type="test.added", source="tests", subject=name, data={"amount": n}) for n in (1, 10, 100)]
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for event in [*events, events[1], events[2], events[1]]:  # at-least-once: re-deliveries happen
            await producer.send_and_wait(topic, event.to_bytes(), key=name.encode())
        await producer.send_and_wait(topic, b"not an envelope", key=name.encode())
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=f"adder-{name}",
        consumer=committed_consumer(kafka_as(stack), f"adder-{name}", topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=_adder(name),
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(200):
            if await _total(plumbing_db, name) == 111:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # give the duplicates time to (not) apply
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert await _total(plumbing_db, name) == 111


async def test_a_poison_event_is_parked_in_dead_letters_and_does_not_block_the_next_one(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("poison", partitions=1)
    name = f"poison-{uuid.uuid4().hex[:8]}"
    poison = Envelope(type="test.added", source="tests", subject=name, data={"amount": "boom"})
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for value in (
            Envelope(type="test.added", source="tests", subject=name, data={"amount": 1}).to_bytes(),
            poison.to_bytes(),  # the handler can never apply it
            b"not an envelope",
            Envelope(type="test.added", source="tests", subject=name, data={"amount": 10}).to_bytes(),
        ):
            await producer.send_and_wait(topic, value, key=name.encode())
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=_adder(name),
        max_attempts=2,
        retry_delay=0.01,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):
            if await _total(plumbing_db, name) == 11:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    assert await _total(plumbing_db, name) == 11
    async with plumbing_db() as session:
        parked = (
            await session.execute(
                select(DeadLetter.offset, DeadLetter.event_id, DeadLetter.payload, DeadLetter.attempts)
                .where(DeadLetter.consumer == name)
                .order_by(DeadLetter.offset)
            )
        ).all()
    assert [(row.offset, row.event_id) for row in parked] == [(1, poison.id), (2, None)]
    assert parked[0].attempts == 2
    assert parked[1].payload == b"not an envelope"  # kept whole for staff to inspect


def _known_types_only(event: Envelope) -> None:
    if event.type != "test.added":
        raise ValueError(f"{event.type!r} is not a type of this topic")


async def test_an_event_breaking_the_services_contract_is_parked_at_once_with_the_reason(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("contract", partitions=1)
    name = f"contract-{uuid.uuid4().hex[:8]}"
    unknown = Envelope(type="test.removed", source="tests", subject=name, data={"amount": 5})
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for event in (unknown, Envelope(type="test.added", source="tests", subject=name, data={"amount": 3})):
            await producer.send_and_wait(topic, event.to_bytes(), key=name.encode())
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=_adder(name),
        check=_known_types_only,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):
            if await _total(plumbing_db, name) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    assert await _total(plumbing_db, name) == 3  # the unknown event was never applied, the next one was
    async with plumbing_db() as session:
        [parked] = (
            await session.execute(
                select(DeadLetter.event_id, DeadLetter.event_type, DeadLetter.error, DeadLetter.attempts).where(
                    DeadLetter.consumer == name
                )
            )
        ).all()
    assert (parked.event_id, parked.event_type, parked.attempts) == (unknown.id, "test.removed", 1)
    assert parked.error == f"breaks the contract of {topic}: 'test.removed' is not a type of this topic"


def test_outages_of_the_database_or_a_gateway_are_transient_and_a_bad_event_is_not() -> None:
    from sqlalchemy.exc import OperationalError

    from daiko.consumer import is_transient
    from daiko.errors import InvalidInput, Unavailable
    from services.orders.gateway import temporal_unavailable

    assert is_transient(ConnectionRefusedError())
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(Unavailable("a part is down"))
    assert is_transient(temporal_unavailable("Temporal did not answer"))  # how the orders gateway says it
    assert not is_transient(InvalidInput("Temporal refuses this signal"))
    assert not is_transient(ValueError("invalid literal for int(): 'boom'"))
