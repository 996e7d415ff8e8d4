"""Idempotent consumer: an event's effect and the record that it was applied commit together.

Offsets are committed to Kafka only after that database transaction, so a crash
re-delivers the event and the processed-events table turns the re-delivery into
a no-op. A handler that fails is retried (nothing is skipped); a message that is
not a valid envelope is logged and counted, since retrying it can never succeed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from sqlalchemy import DateTime, String, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from daiko.events import Envelope

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

consumed_total = Counter("daiko_events_consumed_total", "Events applied", ["consumer", "type"])
duplicates_total = Counter("daiko_events_duplicate_total", "Re-delivered events skipped", ["consumer"])
malformed_total = Counter("daiko_events_malformed_total", "Messages that are not valid envelopes", ["consumer"])
consumer_lag = Gauge("daiko_consumer_lag", "Messages behind the partition end", ["consumer", "topic", "partition"])


class ProcessedEventMixin:
    """Ids of the events a consumer has applied; the primary key is the de-duplication."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


async def apply_once(
    session: AsyncSession,
    model: type[ProcessedEventMixin],
    consumer: str,
    event: Envelope,
    handler: Handler,
) -> bool:
    """Run ``handler`` inside the caller's transaction unless this event was applied before."""
    claimed = await session.execute(
        insert(model)  # type: ignore[arg-type]
        .values(consumer=consumer, event_id=event.id)
        .on_conflict_do_nothing()
        .returning(model.event_id)
    )
    if claimed.first() is None:
        duplicates_total.labels(consumer).inc()
        return False
    await handler(session, event)
    consumed_total.labels(consumer, event.type).inc()
    return True


class IdempotentConsumer:
    """Consumes topics into one service's database, each event applied exactly once."""

    def __init__(
        self,
        *,
        name: str,
        consumer: AIOKafkaConsumer,
        session_factory: async_sessionmaker[AsyncSession],
        processed_model: type[ProcessedEventMixin],
        handler: Handler,
        retry_delay: float = 1.0,
    ) -> None:
        self.name = name
        self._consumer = consumer
        self._sessions = session_factory
        self._model = processed_model
        self._handler = handler
        self._retry_delay = retry_delay
        self._positions: dict[TopicPartition, int] = {}

    async def handle_record(self, record: ConsumerRecord) -> None:
        try:
            event = Envelope.from_bytes(record.value)
        except ValidationError:
            malformed_total.labels(self.name).inc()
            log.error("skipping malformed message", extra={"topic": record.topic, "offset": record.offset})
            return
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await apply_once(session, self._model, self.name, event, self._handler)
                return
            except Exception:
                log.exception("handler failed; retrying", extra={"event_id": event.id, "type": event.type})
                await asyncio.sleep(self._retry_delay)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        await self._consumer.start()
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=100)
                for tp, records in batches.items():
                    for record in records:
                        await self.handle_record(record)
                    await self._consumer.commit({tp: records[-1].offset + 1})
                    self._positions[tp] = records[-1].offset + 1
                self._export_lag()
        finally:
            await self._consumer.stop()

    def _export_lag(self) -> None:
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is None:
                continue
            position = self._positions.get(tp, end)
            consumer_lag.labels(self.name, tp.topic, str(tp.partition)).set(max(end - position, 0))


def consumer_task(
    *,
    name: str,
    bootstrap: str,
    topics: tuple[str, ...],
    session_factory: async_sessionmaker[AsyncSession],
    processed_model: type[ProcessedEventMixin],
    handler: Handler,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task for :func:`daiko.service.create_service_app`; ``name`` is the group id."""

    async def run(stop: asyncio.Event) -> None:
        from daiko.kafka import committed_consumer

        kafka = committed_consumer(bootstrap, name, *topics)
        consumer = IdempotentConsumer(
            name=name,
            consumer=kafka,
            session_factory=session_factory,
            processed_model=processed_model,
            handler=handler,
        )
        await consumer.run(stop)

    return run
