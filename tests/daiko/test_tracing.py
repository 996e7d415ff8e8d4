"""Trace context through the outbox, Kafka and the consumer, on the real PostgreSQL and Kafka; log lines name it.

An event written inside a trace is stored with that trace's W3C context; the
relay sends it as the ``traceparent`` header of a producer span that is the
writer's child; the consumer's span is the producer span's child, and what the
handler does (and logs) is in the same trace. The spans are the SDK's own,
collected in memory by a span processor of this test process.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko import logs, tracing
from daiko.consumer import IdempotentConsumer
from daiko.events import Envelope
from daiko.kafka import committed_consumer, idempotent_producer
from daiko.outbox import OutboxRelay, enqueue
from daiko.partitions import Record
from tests.conftest import StackSettings, kafka_as
from tests.daiko.plumbing_db import DeadLetter, Outbox, ProcessedEvent
from tests.spans import collected_spans

pytestmark = pytest.mark.stack


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = collected_spans()
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, object]]]]:
    """The JSON lines the process logs during the test, read back as objects."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.configure_logging("INFO", service="plumbing-test", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()


def _hex(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _traceparent(span: ReadableSpan) -> str:
    """The W3C ``traceparent`` naming the span as the parent (its flags: sampled, and random trace id)."""
    context = span.get_span_context()
    assert context is not None
    trace_id, span_id = _hex(span)
    return f"00-{trace_id}-{span_id}-{int(context.trace_flags):02x}"


async def _relay_once(stack: StackSettings, sessions: async_sessionmaker[AsyncSession]) -> None:
    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        assert await OutboxRelay(sessions, Outbox, producer).publish_batch() >= 1
    finally:
        await producer.stop()


async def _consume(
    stack: StackSettings, sessions: async_sessionmaker[AsyncSession], topic: str, expected: int
) -> list[tuple[Envelope, tuple[str, str] | None]]:
    """Runs the real idempotent consumer over the topic; each applied event with the trace ids its handler saw."""
    seen: list[tuple[Envelope, tuple[str, str] | None]] = []
    log = logging.getLogger("tests.tracing")

    async def handler(session: AsyncSession, event: Envelope) -> None:
        seen.append((event, tracing.current_ids()))
        log.info("test event applied", extra={"seq": event.data.get("seq")})

    name = f"traced-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=sessions,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=handler,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):
            if len(seen) >= expected:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    return seen


async def _headers_of(stack: StackSettings, topic: str) -> list[dict[str, str]]:
    consumer = committed_consumer(kafka_as(stack), f"headers-{topic}", topic)
    await consumer.start()
    records: list[Record] = []
    try:
        for _ in range(100):
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            if records:
                break
    finally:
        await consumer.stop()
    return [{key: value.decode() for key, value in record.headers} for record in records]


async def test_an_event_written_in_a_trace_is_sent_and_consumed_in_that_trace(
    stack: StackSettings,
    empty_outbox: async_sessionmaker[AsyncSession],
    new_topic: Callable[..., Awaitable[str]],
    spans: InMemorySpanExporter,
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    topic = await new_topic("traced", partitions=1)
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    event = Envelope(type="test.happened", source="tests", subject=order_id, data={"seq": 1, "order_id": order_id})
    with tracing.tracer().start_as_current_span("write the order") as writer:
        async with empty_outbox() as session, session.begin():
            enqueue(session, Outbox, topic=topic, key=order_id, event=event)
    trace_id, writer_span_id = _hex(writer)  # type: ignore[arg-type]

    async with empty_outbox() as session:
        stored = await session.scalar(select(Outbox.trace_context).where(Outbox.event_id == event.id))
    assert stored == {"traceparent": _traceparent(writer)}  # type: ignore[arg-type]

    await _relay_once(stack, empty_outbox)
    [producer] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.PRODUCER]
    assert producer.name == f"send {topic}"
    assert producer.parent is not None and format(producer.parent.span_id, "016x") == writer_span_id
    _, producer_span_id = _hex(producer)
    [headers] = await _headers_of(stack, topic)
    assert headers["traceparent"] == _traceparent(producer)
    assert headers["ce_id"] == event.id  # next to the CloudEvents headers, which are unchanged

    [(consumed, ids)] = await _consume(stack, empty_outbox, topic, expected=1)
    assert consumed.id == event.id
    [consumer_span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert consumer_span.name.endswith(f"process {topic}")
    assert consumer_span.parent is not None and format(consumer_span.parent.span_id, "016x") == producer_span_id
    assert ids == _hex(consumer_span)  # the handler ran inside the consumer's span, in the writer's trace
    assert ids is not None and ids[0] == trace_id

    [line] = [line for line in log_lines() if line["event"] == "test event applied"]
    assert line["trace_id"] == trace_id and line["span_id"] == ids[1]
    assert line["order_id"] == order_id and line["event_id"] == event.id
    assert (line["service"], line["level"], line["seq"]) == ("plumbing-test", "info", 1)


async def test_an_event_written_outside_any_trace_leaves_without_trace_headers_and_starts_its_own(
    stack: StackSettings,
    empty_outbox: async_sessionmaker[AsyncSession],
    new_topic: Callable[..., Awaitable[str]],
    spans: InMemorySpanExporter,
) -> None:
    topic = await new_topic("untraced", partitions=1)
    event = Envelope(type="test.happened", source="tests", subject="order-u", data={"seq": 1})
    async with empty_outbox() as session, session.begin():
        enqueue(session, Outbox, topic=topic, key="order-u", event=event)
    async with empty_outbox() as session:
        assert await session.scalar(select(Outbox.trace_context).where(Outbox.event_id == event.id)) is None

    await _relay_once(stack, empty_outbox)
    [headers] = await _headers_of(stack, topic)
    assert "traceparent" not in headers

    [(_, ids)] = await _consume(stack, empty_outbox, topic, expected=1)
    [consumer_span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert consumer_span.parent is None  # a root: the consumer's work is still traced, in a trace of its own
    assert ids == _hex(consumer_span)


async def test_the_next_record_does_not_carry_the_ids_bound_for_the_previous_one(
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    log = logging.getLogger("tests.tracing")
    with logs.bound(consumer="c"):
        logs.bind_event("e-1", "test.happened", {"order_id": "ord-1", "customer_id": "cust-1"})
        log.info("first")
    with logs.bound(consumer="c"):
        log.info("second")
    first, second = [line for line in log_lines() if line["event"] in ("first", "second")]
    assert (first["order_id"], first["customer_id"], first["event_id"]) == ("ord-1", "cust-1", "e-1")
    assert "order_id" not in second and "event_id" not in second and second["consumer"] == "c"
