"""Idempotent consumer: an event's effect and the record that it was applied commit together.

Offsets are committed to Kafka only after that database transaction, so a crash
re-delivers the event and the processed-events table turns the re-delivery into
a no-op.

Nothing is ever dropped. A failure of the database, Kafka or Temporal is
transient: the event is retried until they are back. A message that is not a
valid envelope, that breaks its topic's contract (the service's ``check``, e.g.
an unknown type or invalid data), or whose handler keeps failing for its own
reasons, is parked in the service's ``dead_letters`` table (with the reason, for
staff to inspect and replay) so that one poison event cannot hold up every other
order on its partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from sqlalchemy import BigInteger, DateTime, Identity, Integer, LargeBinary, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from temporalio.service import RPCError, RPCStatusCode

from daiko.db import database_unavailable
from daiko.events import Envelope
from daiko.problems import Problem

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
Check = Callable[[Envelope], object]
"""Reads an envelope against the service's contract of its topic; raises ``ValueError`` saying why it breaks it.

Passed in by the service, so this plumbing stays ignorant of what the events mean.
"""

consumed_total = Counter("daiko_events_consumed_total", "Events applied", ["consumer", "type"])
duplicates_total = Counter("daiko_events_duplicate_total", "Re-delivered events skipped", ["consumer"])
dead_letters_total = Counter("daiko_events_dead_lettered_total", "Events parked in dead_letters", ["consumer"])
consumer_lag = Gauge("daiko_consumer_lag", "Messages behind the partition end", ["consumer", "topic", "partition"])

_TRANSIENT_RPC = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}


# Serialization failure and deadlock: the transaction lost a race and will pass when retried.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    """A failure of a part we depend on (retry until it is back), not of the event itself."""
    if isinstance(exc, Problem):  # a gateway saying "unavailable" (503), e.g. Temporal down
        return exc.status in (502, 503, 504)
    if isinstance(exc, RPCError):
        return exc.status in _TRANSIENT_RPC
    if isinstance(exc, DBAPIError) and str(getattr(exc.orig, "sqlstate", "")) in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, TimeoutError) or database_unavailable(exc)


class ProcessedEventMixin:
    """Ids of the events a consumer has applied; the primary key is the de-duplication."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeadLetterMixin:
    """Messages a consumer could not apply, kept whole with the reason, one row per Kafka record."""

    __tablename__ = "dead_letters"

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        return (UniqueConstraint("consumer", "topic", "partition", "offset"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


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
        dead_letter_model: type[DeadLetterMixin],
        handler: Handler,
        check: Check | None = None,
        max_attempts: int = 5,
        retry_delay: float = 0.5,
        max_retry_delay: float = 10.0,
    ) -> None:
        self.name = name
        self._consumer = consumer
        self._sessions = session_factory
        self._model = processed_model
        self._dead_letters = dead_letter_model
        self._handler = handler
        self._check = check
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._positions: dict[TopicPartition, int] = {}

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = Envelope.from_bytes(record.value or b"")
        except ValidationError as exc:
            await self._park(record, None, f"not a valid event envelope: {exc}", attempts=1)
            return
        if self._check is not None:
            try:
                self._check(event)
            except ValueError as exc:  # retrying cannot make it valid: park it at once, with the reason
                await self._park(record, event, f"breaks the contract of {record.topic}: {exc}", attempts=1)
                return
        failures, delay = 0, self._retry_delay
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await apply_once(session, self._model, self.name, event, self._handler)
                return
            except Exception as exc:
                transient = is_transient(exc)
                failures += 0 if transient else 1
                log.warning(
                    "handler failed; retrying",
                    exc_info=not transient,
                    extra={"consumer": self.name, "event_id": event.id, "type": event.type, "transient": transient},
                )
                if failures >= self._max_attempts:
                    await self._park(record, event, repr(exc), attempts=failures)
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_delay)

    async def _park(
        self, record: ConsumerRecord[bytes, bytes], event: Envelope | None, error: str, *, attempts: int
    ) -> None:
        """Keep the message for staff; retried until the database takes it, so it is never lost."""
        values = {
            "consumer": self.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "event_id": event.id if event else None,
            "event_type": event.type[:200] if event else None,
            "payload": record.value or b"",
            "error": error[:10_000],
            "attempts": attempts,
        }
        delay = self._retry_delay
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await session.execute(
                        insert(self._dead_letters).values(**values).on_conflict_do_nothing()  # type: ignore[arg-type]
                    )
                break
            except Exception:
                log.exception("could not park a dead letter; retrying", extra={"consumer": self.name})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)
        dead_letters_total.labels(self.name).inc()
        log.error(
            "event parked in dead_letters",
            extra={"consumer": self.name, "topic": record.topic, "offset": record.offset, "error": error[:500]},
        )

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
    dead_letter_model: type[DeadLetterMixin],
    handler: Handler,
    check: Check | None = None,
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
            dead_letter_model=dead_letter_model,
            handler=handler,
            check=check,
        )
        await consumer.run(stop)

    return run
