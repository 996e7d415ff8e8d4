"""A batching consumer applies a partition's batch in one transaction and keeps every exactly-once guarantee.

Each test sends its events before the consumer starts, on one partition, so they
arrive as one fetched batch (real Kafka, real PostgreSQL). One transaction shows
in ``processed_events.processed_at``: PostgreSQL's ``now()`` is the transaction's
start, so the ids claimed in one transaction share it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import IdempotentConsumer
from daiko.events import Envelope
from daiko.kafka import client_options, committed_consumer, idempotent_producer
from daiko.partitions import Record
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DeadLetter, ProcessedEvent
from tests.daiko.test_consumer import _adder, _total

pytestmark = pytest.mark.stack


def _added(name: str, amount: object) -> Envelope:
    return Envelope(type="test.added", source="tests", subject=name, data={"amount": amount})


async def _send(stack: StackSettings, topic: str, key: str, values: list[bytes]) -> None:
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


def _batching(
    stack: StackSettings, sessions: async_sessionmaker[AsyncSession], name: str, topic: str
) -> IdempotentConsumer:
    return IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=sessions,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=_adder(name),
        max_attempts=2,
        retry_delay=0.01,
        batch=True,
    )


async def _run_until(consumer: IdempotentConsumer, done: Callable[[], Awaitable[bool]]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):
            if await done():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time for anything extra to (not) apply
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def _claims(sessions: async_sessionmaker[AsyncSession], consumer: str) -> list[object]:
    async with sessions() as session:
        rows = await session.scalars(select(ProcessedEvent.processed_at).where(ProcessedEvent.consumer == consumer))
        return list(rows)


async def test_duplicates_inside_one_batch_are_applied_once_in_one_transaction(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("batch-dupes", partitions=1)
    name = f"batch-dupes-{uuid.uuid4().hex[:8]}"
    one, ten, hundred = (_added(name, n) for n in (1, 10, 100))
    await _send(stack, topic, name, [e.to_bytes() for e in (one, ten, ten, hundred, one, hundred)])

    await _run_until(_batching(stack, plumbing_db, name, topic), lambda: _is(plumbing_db, name, 111))

    assert await _total(plumbing_db, name) == 111
    claims = await _claims(plumbing_db, name)
    assert len(claims) == 3
    assert len(set(claims)) == 1, "the batch's events were claimed in one transaction"


async def test_a_poison_message_in_a_batch_is_parked_and_the_good_messages_beside_it_are_applied(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("batch-poison", partitions=1)
    name = f"batch-poison-{uuid.uuid4().hex[:8]}"
    poison = _added(name, "boom")  # readable and within the contract, but the handler can never apply it
    await _send(stack, topic, name, [_added(name, 1).to_bytes(), poison.to_bytes(), _added(name, 10).to_bytes()])

    await _run_until(_batching(stack, plumbing_db, name, topic), lambda: _is(plumbing_db, name, 11))

    assert await _total(plumbing_db, name) == 11
    async with plumbing_db() as session:
        parked = (
            await session.execute(select(DeadLetter.offset, DeadLetter.event_id).where(DeadLetter.consumer == name))
        ).all()
    assert [(row.offset, row.event_id) for row in parked] == [(1, poison.id)]
    assert len(await _claims(plumbing_db, name)) == 2, "only the good messages are recorded as applied"


async def test_a_crash_between_the_batch_commit_and_the_offset_commit_redelivers_without_a_second_effect(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("batch-crash", partitions=1)
    name = f"batch-crash-{uuid.uuid4().hex[:8]}"
    await _send(stack, topic, name, [_added(name, n).to_bytes() for n in (1, 10, 100)])

    # The first process applies the batch and dies before committing the offsets: the group has none.
    reader = AIOKafkaConsumer(**client_options(kafka_as(stack)), enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(topic, 0)
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        records: list[Record] = []
        for _ in range(50):
            records += (await reader.getmany(tp, timeout_ms=200)).get(tp, [])
            if len(records) == 3:
                break
    finally:
        await reader.stop()
    first = _batching(stack, plumbing_db, name, topic)
    assert await first.apply_batch(records)
    assert await _total(plumbing_db, name) == 111

    # The next process of the group reads the batch again from the start.
    await _run_until(_batching(stack, plumbing_db, name, topic), lambda: _committed(stack, name, topic, 3))

    assert await _committed(stack, name, topic, 3)
    assert await _total(plumbing_db, name) == 111
    assert len(await _claims(plumbing_db, name)) == 3


async def _is(sessions: async_sessionmaker[AsyncSession], name: str, total: int) -> bool:
    return await _total(sessions, name) == total


async def _committed(stack: StackSettings, group: str, topic: str, offset: int) -> bool:
    """Whether the group's committed offset of the topic's partition 0 reached ``offset``."""
    reader = AIOKafkaConsumer(**client_options(kafka_as(stack)), group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        committed: int | None = await reader.committed(TopicPartition(topic, 0))
        return committed == offset
    finally:
        await reader.stop()


def _event(key: str, n: int) -> Envelope:
    return Envelope(type="test.step", source="tests", subject=key, data={"order_id": key, "n": n})


async def test_a_consumer_concurrent_by_order_applies_other_orders_while_one_waits_and_keeps_each_in_order(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    """The orders bridge's shape: one partition, answers for two orders interleaved.

    The first event of order A cannot finish until every event of order B is applied: applied one
    after another, the partition would wait for ever (the hang guard fails the test); applied
    concurrently by order, B goes by and A follows, each order's events in their sent order.
    """
    topic = await new_topic("concurrent-by-order", partitions=1)
    name = f"by-order-{uuid.uuid4().hex[:8]}"
    a, b = f"A-{name}", f"B-{name}"
    sent = [_event(a, 1), _event(b, 1), _event(a, 2), _event(b, 2), _event(b, 3), _event(a, 3)]
    await _send(stack, topic, name, [e.to_bytes() for e in sent])
    applied: list[tuple[str, int]] = []
    b_done = asyncio.Event()

    async def step(session: AsyncSession, event: Envelope) -> None:
        order, n = event.data["order_id"], event.data["n"]
        if (order, n) == (a, 1):
            await b_done.wait()
        applied.append((order, n))
        if (order, n) == (b, 3):
            b_done.set()

    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=step,
        concurrent_by=lambda event: str(event.data["order_id"]),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(_until_applied(applied, len(sent)), timeout=60)  # a hang guard, not a timing check
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)

    assert [n for order, n in applied if order == a] == [1, 2, 3]
    assert [n for order, n in applied if order == b] == [1, 2, 3]
    assert applied.index((b, 3)) < applied.index((a, 1)), "order B was applied while order A waited"
    assert await _committed(stack, name, topic, len(sent))
    assert len(await _claims(plumbing_db, name)) == len(sent)


async def _until_applied(applied: list[tuple[str, int]], count: int) -> None:
    while len(applied) < count:
        await asyncio.sleep(0.05)
