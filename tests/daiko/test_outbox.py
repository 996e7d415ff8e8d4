"""Transactional outbox: committed rows reach Kafka in order per key, rolled-back rows never, crashes lose nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.events import Envelope
from daiko.kafka import committed_consumer, idempotent_producer
from daiko.outbox import LISTENER_APPLICATION_NAME, OutboxRelay, enqueue
from daiko.settings import PROJECT_ROOT
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DATABASE, Outbox

pytestmark = pytest.mark.stack


async def _write(sessions: async_sessionmaker[AsyncSession], topic: str, key: str, seqs: range) -> list[str]:
    ids = []
    async with sessions() as session, session.begin():
        for seq in seqs:
            event = Envelope(type="test.happened", source="tests", subject=key, data={"seq": seq})
            enqueue(session, Outbox, topic=topic, key=key, event=event)
            ids.append(event.id)
    return ids


async def _read_all(settings: StackSettings, topic: str, expected: int, attempts: int = 200) -> list[Envelope]:
    consumer = committed_consumer(kafka_as(settings), f"check-{topic}", topic)
    await consumer.start()
    seen: list[Envelope] = []
    try:
        for _ in range(attempts):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend(Envelope.from_bytes(r.value) for r in records)
            if len({e.id for e in seen}) >= expected:
                # a short extra poll catches any trailing duplicates
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen.extend(Envelope.from_bytes(r.value) for r in records)
                break
    finally:
        await consumer.stop()
    return seen


def _assert_in_order_per_key(events: list[Envelope]) -> None:
    by_key: dict[str, list[int]] = defaultdict(list)
    for e in events:
        by_key[e.subject].append(e.data["seq"])
    for key, seqs in by_key.items():
        first_seen = list(dict.fromkeys(seqs))  # a re-send may repeat, never reorder
        assert first_seen == sorted(first_seen), f"out of order for {key}: {seqs}"


async def test_committed_rows_reach_kafka_in_order_and_rolled_back_rows_never(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("outbox")
    committed = await _write(empty_outbox, topic, "order-a", range(0, 30))
    committed += await _write(empty_outbox, topic, "order-b", range(0, 30))
    with pytest.raises(RuntimeError):
        async with empty_outbox() as session, session.begin():
            enqueue(
                session,
                Outbox,
                topic=topic,
                key="order-a",
                event=Envelope(type="test.rolled_back", source="tests", subject="order-a", data={"seq": 999}),
            )
            raise RuntimeError("the state change failed, so its event must not leave")

    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        relay = OutboxRelay(empty_outbox, Outbox, producer, batch_size=7)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()

    events = await _read_all(stack, topic, len(committed))
    assert {e.id for e in events} == set(committed)
    assert all(e.type != "test.rolled_back" for e in events)
    _assert_in_order_per_key(events)
    async with empty_outbox() as session:
        unpublished = await session.scalar(select(func.count()).where(Outbox.published_at.is_(None)))
    assert unpublished == 0


async def test_killing_the_relay_mid_batch_loses_nothing_and_resends_with_the_same_event_id(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("outbox-crash")
    written: list[str] = []
    for key in ("order-x", "order-y", "order-z"):
        written += await _write(empty_outbox, topic, key, range(0, 1500))

    cmd = [sys.executable, "-m", "tests.daiko.relay_process", "500"]
    relay = subprocess.Popen(cmd, cwd=PROJECT_ROOT, start_new_session=True)
    try:
        # Kill it as soon as Kafka holds part of the rows, before they are all marked published.
        consumer = committed_consumer(kafka_as(stack), f"peek-{topic}", topic)
        await consumer.start()
        try:
            seen = 0
            for _ in range(600):
                for records in (await consumer.getmany(timeout_ms=50)).values():
                    seen += len(records)
                if seen:
                    break
        finally:
            await consumer.stop()
        os.killpg(relay.pid, signal.SIGKILL)
        relay.wait(timeout=10)
        assert seen > 0, "the relay published nothing before being killed"

        async with empty_outbox() as session:
            left = await session.scalar(select(func.count()).where(Outbox.published_at.is_(None)))
        # Restart: whatever was not marked published goes out again.
        relay = subprocess.Popen(cmd, cwd=PROJECT_ROOT, start_new_session=True)
        for _ in range(300):
            async with empty_outbox() as session:
                remaining = await session.scalar(select(func.count()).where(Outbox.published_at.is_(None)))
            if remaining == 0:
                break
            await asyncio.sleep(0.1)
        assert remaining == 0
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGTERM)
            relay.wait(timeout=10)

    events = await _read_all(stack, topic, len(written))
    ids = [e.id for e in events]
    assert set(ids) == set(written), "an event was lost"
    assert left, "the relay was killed only after finishing; nothing was tested"
    _assert_in_order_per_key(events)


async def test_published_rows_older_than_the_retention_are_purged_and_nothing_unpublished_is(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    old, recent, unpublished = (await _write(empty_outbox, "t", "order-p", range(3)))[:3]
    async with empty_outbox() as session, session.begin():
        now = datetime.now(UTC)
        await session.execute(update(Outbox).where(Outbox.event_id == old).values(published_at=now - timedelta(days=8)))
        await session.execute(update(Outbox).where(Outbox.event_id == recent).values(published_at=now))
    producer = idempotent_producer(kafka_as(stack))  # never started: purging needs no Kafka
    relay = OutboxRelay(empty_outbox, Outbox, producer, retention=timedelta(days=7))
    assert await relay.purge_published() == 1
    async with empty_outbox() as session:
        left = set((await session.scalars(select(Outbox.event_id))).all())
    assert left == {recent, unpublished}


async def test_every_relayed_message_carries_its_cloudevents_binary_mode_headers(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("outbox-headers")
    [event_id] = await _write(empty_outbox, topic, "order-h", range(1))
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        await OutboxRelay(empty_outbox, Outbox, producer).publish_batch()
    finally:
        await producer.stop()
    consumer = committed_consumer(kafka_as(stack), f"check-{topic}", topic)
    await consumer.start()
    try:
        records = []
        for _ in range(100):
            records += [r for batch in (await consumer.getmany(timeout_ms=200)).values() for r in batch]
            if records:
                break
    finally:
        await consumer.stop()
    [record] = records
    headers = {name: value.decode() for name, value in record.headers}
    body = Envelope.from_bytes(record.value or b"")  # the body is still the whole structured event
    assert headers == {
        "ce_specversion": "1.0",
        "ce_id": event_id,
        "ce_type": "test.happened",
        "ce_source": "tests",
        "ce_time": body.time.isoformat(),
        "ce_subject": "order-h",
        "content-type": "application/cloudevents+json; charset=UTF-8",
    }
    assert body.id == event_id and body.data == {"seq": 0}


# A relay whose poll would fire only after a minute: anything published sooner was woken by the
# commit itself. The 20 s bound is a liveness bound (far from the poll, and far from the
# milliseconds a notified relay takes here), not a performance threshold.
LONG_POLL_SECONDS = 60.0
WAKE_BOUND_SECONDS = 20.0


def _listening() -> float | None:
    """The relay's own gauge for the scratch database: 1 while its LISTEN connection is up."""
    return REGISTRY.get_sample_value("daiko_outbox_relay_listening", {"database": DATABASE})


async def _listening_relay(
    sessions: async_sessionmaker[AsyncSession], producer: AIOKafkaProducer, stop: asyncio.Event
) -> asyncio.Task[None]:
    """A relay with a one-minute poll, started and holding its LISTEN connection (its first poll is spent)."""
    task = asyncio.create_task(OutboxRelay(sessions, Outbox, producer, poll_interval=LONG_POLL_SECONDS).run(stop))
    deadline = time.monotonic() + WAKE_BOUND_SECONDS
    while _listening() != 1:
        assert time.monotonic() < deadline, "the relay never started listening"
        assert not task.done(), "the relay stopped"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # the wake-up of the connect itself finds an empty outbox and the loop waits again
    return task


async def _published_within(sessions: async_sessionmaker[AsyncSession], event_id: str, bound: float) -> float | None:
    """Seconds until the relay marked ``event_id`` published (after Kafka acknowledged it), or None."""
    start = time.monotonic()
    while time.monotonic() - start < bound:
        async with sessions() as session:
            if await session.scalar(select(Outbox.published_at).where(Outbox.event_id == event_id)):
                return time.monotonic() - start
        await asyncio.sleep(0.02)
    return None


async def test_a_commit_wakes_the_relay_long_before_its_poll_and_a_lost_listener_comes_back(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession], new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("outbox-wake")
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    stop = asyncio.Event()
    relay = await _listening_relay(empty_outbox, producer, stop)
    try:
        [first] = await _write(empty_outbox, topic, "order-w", range(0, 1))
        took = await _published_within(empty_outbox, first, WAKE_BOUND_SECONDS)
        assert took is not None, f"not published within {WAKE_BOUND_SECONDS}s: the commit did not wake the relay"

        # PostgreSQL drops the listening connection (a restart, a network cut): the relay reconnects
        # and the next commit wakes it again, still long before the poll.
        async with empty_outbox() as session, session.begin():
            killed = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_APPLICATION_NAME},
            )
        assert killed == 1
        deadline = time.monotonic() + WAKE_BOUND_SECONDS
        while _listening() != 0:  # it noticed the loss
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        while _listening() != 1:  # and listens again
            assert time.monotonic() < deadline, "the relay did not reconnect its listener"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        [second] = await _write(empty_outbox, topic, "order-w", range(1, 2))
        assert await _published_within(empty_outbox, second, WAKE_BOUND_SECONDS) is not None
    finally:
        stop.set()
        await asyncio.wait_for(relay, timeout=10)
        await producer.stop()

    events = await _read_all(stack, topic, 2)
    assert [e.id for e in events][:2] == [first, second]
