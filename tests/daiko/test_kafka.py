"""Kafka of the local stack: idempotent and transactional producers, consumer groups that resume."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from daiko.kafka import client_options, committed_consumer, idempotent_producer
from tests.conftest import StackSettings, kafka_as

pytestmark = pytest.mark.stack


async def _drain(consumer: AIOKafkaConsumer, expected: int, *, attempts: int = 150) -> list[bytes]:
    seen: list[bytes] = []
    for _ in range(attempts):
        batches = await consumer.getmany(timeout_ms=200)
        for records in batches.values():
            seen.extend(r.value for r in records)
        if len(seen) >= expected:
            break
    return seen


async def test_idempotent_and_transactional_producers_write_and_a_group_resumes_after_restart(
    stack: StackSettings, new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("kafka", partitions=1)
    group = f"resume-{uuid.uuid4().hex[:8]}"

    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, f"idem-{i}".encode(), key=b"k")
    finally:
        await producer.stop()

    transactional = AIOKafkaProducer(
        **client_options(kafka_as(stack)), transactional_id=f"tx-{uuid.uuid4().hex[:8]}", acks="all"
    )
    await transactional.start()
    try:
        async with transactional.transaction():
            for i in range(10):
                await transactional.send(topic, f"tx-{i}".encode(), key=b"k")
        await transactional.begin_transaction()
        await transactional.send(topic, b"aborted", key=b"k")
        await transactional.abort_transaction()
    finally:
        await transactional.stop()

    first = committed_consumer(kafka_as(stack), group, topic)
    await first.start()
    try:
        got = await _drain(first, 12)
        assert got[:12] == [f"idem-{i}".encode() for i in range(10)] + [b"tx-0", b"tx-1"]
        # Commit only what was handled: the first 12 (offsets 0..11).
        await first.commit({TopicPartition(topic, 0): 12})
    finally:
        await first.stop()

    second = committed_consumer(kafka_as(stack), group, topic)
    await second.start()
    try:
        rest = await _drain(second, 8, attempts=50)
    finally:
        await second.stop()
    assert rest == [f"tx-{i}".encode() for i in range(2, 10)]  # resumed; aborted write never visible
