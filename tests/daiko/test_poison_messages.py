"""No message wedges a consumer: whatever a producer writes is applied or dead-lettered, and costs only its partition.

Through the real channel: a Kafka producer writes raw bytes to a throw-away
topic and the real consumer reads them into the scratch plumbing database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import NewTopic
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import IdempotentConsumer
from daiko.events import Envelope
from daiko.kafka import admin_client, committed_consumer, idempotent_producer
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DeadLetter, Effect, ProcessedEvent

pytestmark = pytest.mark.stack

BIG_MESSAGES = 4 * 1024 * 1024
"""The throw-away topic takes messages this large, so a 2 MB body reaches the consumer."""
GIVE_UP_AFTER = 300
"""Polls (of 0.1 s) before a test declares the consumer stuck: a guard against hanging, not a measure of speed."""


@pytest.fixture
async def big_topic(stack: StackSettings) -> AsyncIterator[str]:
    admin = admin_client(kafka_as(stack))
    await admin.start()
    name = f"poison.{uuid.uuid4().hex[:10]}"
    await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": str(BIG_MESSAGES)})])
    yield name
    await admin.delete_topics([name])
    await admin.close()


def _adder(name: str) -> Callable[[AsyncSession, Envelope], Awaitable[None]]:
    async def add(session: AsyncSession, event: Envelope) -> None:
        amount = int(event.data["amount"])
        await session.execute(
            insert(Effect)
            .values(name=name, total=amount)
            .on_conflict_do_update(index_elements=[Effect.name], set_={"total": Effect.total + amount})
        )

    return add


def _known_types_only(event: Envelope) -> None:
    if event.type != "test.added":
        raise ValueError(f"{event.type!r} is not a type of this topic")


def _body(**fields: object) -> bytes:
    envelope = {"id": str(uuid.uuid4()), "type": "test.added", "source": "tests", "subject": "s", "data": {}}
    return json.dumps(envelope | fields).encode()


async def _wait_for(condition: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(GIVE_UP_AFTER):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the consumer did not get there: it is stuck")


async def test_every_kind_of_poison_is_dead_lettered_with_its_reason_and_the_next_message_applied(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], big_topic: str
) -> None:
    name = f"poison-{uuid.uuid4().hex[:8]}"
    long_id, huge_id = "x" * 65, "y" * 10_000
    poisons: list[tuple[bytes, str]] = [
        (_body(id=long_id), "envelope id must be 1 to 64 printable ASCII characters without spaces (got 65"),
        (_body(id=huge_id), "(got 10000 characters"),
        (_body(id="a\u0000b"), "envelope id must be"),
        (_body(type="test.\u0000added"), "envelope type must be"),
        (_body(data={"amount": 1, "note": "a\u0000b"}), "NUL character in envelope.data.note"),
        (_body(data={"k\u0000": 1}), "NUL character in envelope.data key"),
        (b'{"id": "\xff\xfe", "type": "test.added"}', "body is not UTF-8: byte 0xff at position 8"),
        (b"[1, 2, 3]", "not a valid event envelope"),
        (_body(id=12345), "not a valid event envelope"),
        (_body(data=[1, 2]), "not a valid event envelope"),
        (_body(data={"amount": 1, "blob": "z" * (2 * 1024 * 1024)}), "exceeds the limit of 1048576 bytes"),
        (_body(type="test.removed", data={"amount": 1}), "'test.removed' is not a type of this topic"),
    ]
    messages: list[bytes] = []
    for poison, _ in poisons:  # each poison is followed by a good message that must still be applied
        messages += [poison, _body(data={"amount": 1})]
    producer = idempotent_producer(kafka_as(stack), max_request_size=BIG_MESSAGES)
    await producer.start()
    try:
        for value in messages:
            await producer.send_and_wait(big_topic, value, key=b"k", partition=0)
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, big_topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=_adder(name),
        check=_known_types_only,
    )
    task = asyncio.create_task(consumer.run(stop))

    async def all_good_ones_applied() -> bool:
        async with plumbing_db() as session:
            return await session.scalar(select(Effect.total).where(Effect.name == name)) == len(poisons)

    try:
        await _wait_for(all_good_ones_applied)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    d = DeadLetter
    async with plumbing_db() as session:
        parked = (
            await session.execute(
                select(d.offset, d.event_id, d.error, d.payload, d.attempts)
                .where(d.consumer == name)
                .order_by(d.offset)
            )
        ).all()
    assert [row.offset for row in parked] == [2 * n for n in range(len(poisons))]  # every poison, and only them
    for row, (payload, reason) in zip(parked, poisons, strict=True):
        assert reason in row.error, row.error
        assert row.payload == payload  # the whole message, byte for byte
        assert row.attempts == 1  # no retry could ever have helped
        assert "\x00" not in row.error and "\x00" not in (row.event_id or "")
    assert parked[0].event_id == long_id
    assert parked[1].event_id is not None and parked[1].event_id.startswith("y" * 200 + "…[9800 more characters]")
    assert parked[2].event_id == "a\\x00b"  # NUL escaped, still searchable


async def test_a_poison_message_on_one_partition_does_not_hold_up_another(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("partitions", partitions=2)
    name = f"partitions-{uuid.uuid4().hex[:8]}"
    applied: list[str] = []
    other_partition_done = asyncio.Event()

    async def handle(session: AsyncSession, event: Envelope) -> None:
        label = str(event.data["label"])
        # The poison keeps failing for as long as partition 1 has not been applied; a consumer that
        # waited for it before serving partition 1 would wait for ever (10,000 attempts).
        if label == "p0-poison" and not other_partition_done.is_set():
            raise ValueError("not yet")
        applied.append(label)
        if label == "p1-last":
            other_partition_done.set()

    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for partition, labels in ((0, ("p0-first", "p0-poison", "p0-last")), (1, ("p1-first", "p1-last"))):
            for label in labels:
                event = Envelope(type="test.labelled", source="tests", subject=label, data={"label": label})
                await producer.send_and_wait(topic, event.to_bytes(), key=label.encode(), partition=partition)
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=plumbing_db,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=handle,
        max_attempts=10_000,
        retry_delay=0.01,
        max_retry_delay=0.05,
    )
    task = asyncio.create_task(consumer.run(stop))

    async def everything_applied() -> bool:
        return len(applied) == 5

    try:
        await _wait_for(everything_applied)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    assert applied.index("p1-first") < applied.index("p1-last") < applied.index("p0-poison")
    assert [label for label in applied if label.startswith("p0")] == ["p0-first", "p0-poison", "p0-last"]


async def test_partitions_moving_between_consumers_lose_nothing_and_keep_their_order(
    stack: StackSettings, plumbing_db: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    """A second consumer joins the group in the middle of the stream and takes partitions from the first.

    After its first 10 events the first member meets an "outage" (a transient error, retried) that
    lasts until the second member has applied something, so the partitions do move mid-stream: the
    rebalance must interrupt the first member's retries and hand the partitions over.
    """
    topic = await new_topic("rebalance", partitions=4)
    name = f"rebalance-{uuid.uuid4().hex[:8]}"
    applied: list[tuple[str, int, int]] = []
    second_may_join, second_applied = asyncio.Event(), asyncio.Event()

    def handler(member: str) -> Callable[[AsyncSession, Envelope], Awaitable[None]]:
        async def handle(session: AsyncSession, event: Envelope) -> None:
            if member == "first" and second_may_join.is_set() and not second_applied.is_set():
                raise TimeoutError("an outage, until the second member has taken over")
            applied.append((member, int(event.data["partition"]), int(event.data["seq"])))
            if member == "second":
                second_applied.set()
            if len(applied) == 10:
                second_may_join.set()

        return handle

    per_partition = 30
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for seq in range(per_partition):
            for partition in range(4):
                event = Envelope(
                    type="test.sequenced", source="tests", subject="s", data={"partition": partition, "seq": seq}
                )
                await producer.send_and_wait(topic, event.to_bytes(), key=b"s", partition=partition)
    finally:
        await producer.stop()

    def member(label: str) -> IdempotentConsumer:
        return IdempotentConsumer(
            name=name,
            consumer=committed_consumer(kafka_as(stack), name, topic),
            session_factory=plumbing_db,
            processed_model=ProcessedEvent,
            dead_letter_model=DeadLetter,
            handler=handler(label),
            retry_delay=0.05,
            max_retry_delay=0.2,
        )

    stop = asyncio.Event()
    tasks = [asyncio.create_task(member("first").run(stop))]

    async def all_applied() -> bool:
        return len({(p, seq) for _, p, seq in applied}) == 4 * per_partition

    try:
        await _wait_for(lambda: _is_set(second_may_join))
        tasks.append(asyncio.create_task(member("second").run(stop)))
        await _wait_for(all_applied)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    assert {who for who, _, _ in applied} == {"first", "second"}
    assert len(applied) == 4 * per_partition  # none applied twice
    for partition in range(4):
        assert [seq for _, p, seq in applied if p == partition] == list(range(per_partition))


async def _is_set(event: asyncio.Event) -> bool:
    return event.is_set()
