"""The metrics plumbing (``daiko/metrics.py``) against a real app, the stack's PostgreSQL and its Kafka.

HTTP requests are counted by route template, not by raw path; the scrape-time
gauges read what the outbox, the dead letters and a consumer group's committed
offsets really hold; a probe that cannot read drops its series and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko.db import make_engine
from daiko.kafka import client_options
from daiko.metrics import (
    ConsumerGroup,
    ConsumerLagProbe,
    Reading,
    ScrapeTimeMetrics,
    dead_letters_probe,
    instrument_http,
    outbox_probe,
)
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DeadLetter, Outbox

pytestmark = pytest.mark.stack


def by_labels(readings: list[Reading], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(r.labels.items())): r.value for r in readings if r.name == name}


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


async def test_requests_are_counted_by_route_template_and_status_class() -> None:
    service = f"test-http-{uuid.uuid4().hex[:8]}"
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    instrument_http(app, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for path in ("/things/1", "/things/2", "/things/not-a-number", "/nowhere", "/healthz"):
            await client.get(path)

    def requests(handler: str, status: str) -> float | None:
        labels = {"service": service, "handler": handler, "method": "GET", "status": status}
        return REGISTRY.get_sample_value("daiko_http_requests_total", labels)

    assert requests("/things/{thing_id}", "2xx") == 2
    assert requests("/things/{thing_id}", "4xx") == 1  # the invalid id, still under its route's template
    assert requests("none", "4xx") == 1  # an unknown path: one series however many such paths come
    assert requests("/healthz", "2xx") is None  # probes are not traffic
    timed = {"service": service, "handler": "/things/{thing_id}", "method": "GET"}
    assert REGISTRY.get_sample_value("daiko_http_request_duration_seconds_count", timed) == 3


async def test_the_outbox_backlog_and_its_oldest_event_are_read_from_the_table(
    empty_outbox: async_sessionmaker[AsyncSession],
) -> None:
    probe = outbox_probe("test", engine_of(empty_outbox))
    labels = (("service", "test"),)
    empty = await probe()
    assert by_labels(empty, "daiko_outbox_backlog_events") == {labels: 0}
    assert by_labels(empty, "daiko_outbox_oldest_unsent_age_seconds") == {labels: 0}

    waited = datetime.now(UTC) - timedelta(minutes=5)
    async with empty_outbox() as session, session.begin():
        for n in range(3):
            row = {
                "event_id": f"metrics-{uuid.uuid4()}",
                "topic": "t",
                "key": "k",
                "payload": b"{}",
                "created_at": waited,
            }
            await session.execute(insert(Outbox).values(**row, published_at=datetime.now(UTC) if n == 0 else None))
    waiting = await probe()
    assert by_labels(waiting, "daiko_outbox_backlog_events") == {labels: 2}
    assert by_labels(waiting, "daiko_outbox_oldest_unsent_age_seconds")[labels] >= 300

    async with empty_outbox() as session, session.begin():
        await session.execute(update(Outbox).values(published_at=datetime.now(UTC)))
    assert by_labels(await probe(), "daiko_outbox_backlog_events") == {labels: 0}


async def test_unresolved_dead_letters_are_counted_per_consumer(plumbing_db: async_sessionmaker[AsyncSession]) -> None:
    parked, quiet = f"metrics-parked-{uuid.uuid4().hex[:8]}", f"metrics-quiet-{uuid.uuid4().hex[:8]}"
    probe = dead_letters_probe("test", engine_of(plumbing_db), lambda: [quiet])
    base = {"topic": "t", "partition": 0, "payload": b"x", "error": "planted", "attempts": 1}
    async with plumbing_db() as session, session.begin():
        await session.execute(insert(DeadLetter).values(consumer=parked, offset=1, **base))
        await session.execute(insert(DeadLetter).values(consumer=parked, offset=2, **base))
        await session.execute(
            insert(DeadLetter).values(consumer=parked, offset=3, resolved_at=datetime.now(UTC), **base)
        )
    try:
        counts = by_labels(await probe(), "daiko_dead_letters_unresolved_messages")
        assert counts[(("consumer", parked), ("service", "test"))] == 2  # the replayed one is resolved
        assert counts[(("consumer", quiet), ("service", "test"))] == 0  # a known consumer shows 0, not nothing
    finally:
        async with plumbing_db() as session, session.begin():
            await session.execute(delete(DeadLetter).where(DeadLetter.consumer == parked))


async def test_a_probe_that_cannot_read_drops_its_series_and_says_so(
    stack: StackSettings, empty_outbox: async_sessionmaker[AsyncSession]
) -> None:
    service = f"test-probes-{uuid.uuid4().hex[:8]}"
    missing = make_engine(stack.database_url("daiko_no_such_database"), pool_size=1)
    metrics = ScrapeTimeMetrics(
        service,
        {
            "outbox": outbox_probe(service, engine_of(empty_outbox)),
            "broken": dead_letters_probe(service, missing, list),
        },
    )
    try:
        await metrics.refresh()
    finally:
        await missing.dispose()
    exposed = generate_latest(REGISTRY).decode()
    assert f'daiko_metrics_probe_success{{probe="broken",service="{service}"}} 0.0' in exposed
    assert f'daiko_metrics_probe_success{{probe="outbox",service="{service}"}} 1.0' in exposed
    assert f'daiko_outbox_backlog_events{{service="{service}"}} 0.0' in exposed
    assert not [line for line in exposed.splitlines() if "dead_letters_unresolved" in line and service in line]
    # (no stale value: the failed probe's gauges are simply absent from this scrape)


async def test_consumer_lag_is_the_end_offset_minus_the_groups_committed_offset_per_partition(
    stack: StackSettings, new_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await new_topic("metrics-lag", partitions=3)
    group = f"test-lag-{uuid.uuid4().hex[:8]}"
    kafka = kafka_as(stack)
    producer = AIOKafkaProducer(**client_options(kafka))
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 2)):
            for n in range(count):
                await producer.send_and_wait(topic, f"m{n}".encode(), partition=partition)
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): 3})  # read 3 of partition 0's 5; never partition 1
    finally:
        await committer.stop()

    probe = ConsumerLagProbe("test", lambda: [ConsumerGroup(group, (topic,), kafka)])
    try:
        lag = by_labels(await probe(), "daiko_consumer_lag_messages")
    finally:
        await probe.close()

    def key(partition: int) -> tuple[tuple[str, str], ...]:
        return (("consumer", group), ("partition", str(partition)), ("service", "test"), ("topic", topic))

    assert lag == {key(0): 2, key(1): 2, key(2): 0}
