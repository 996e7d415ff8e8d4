"""Transactional outbox: events are rows written with the state change, then relayed to Kafka.

Each service's database has its own ``outbox`` table (a mapped subclass of
:class:`OutboxMixin`). The relay publishes unpublished rows in id order and only
then marks them published, so a crash between the two re-sends rows with the same
event id (consumers de-duplicate on it) and never loses one. Batches take a
transaction-scoped advisory lock, so two relay instances never interleave and
per-key order holds. Each message carries the CloudEvents binary-mode headers
of its envelope (:meth:`daiko.events.Envelope.kafka_headers`) next to its JSON body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from daiko.events import Envelope, kafka_headers

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
RELAY_LOCK_ID = 0x0DA1C0  # one advisory lock id per database: each service owns its own database

published_total = Counter("daiko_outbox_published_total", "Outbox rows published to Kafka", ["topic"])


class OutboxMixin:
    """Columns of the outbox table; each service maps it on its own ``Base``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Index]:
        # The relay only ever looks for unpublished rows, oldest first: a small partial index
        # stays small however long the published history grows.
        return (Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),)


def enqueue(session: AsyncSession, model: type[OutboxMixin], *, topic: str, key: str, event: Envelope) -> None:
    """Add an event to the caller's transaction; it leaves only if that transaction commits."""
    session.add(
        model(
            # type: ignore[call-arg]
            event_id=event.id,
            topic=topic,
            key=key,
            payload=event.to_bytes(),
        )
    )


def enqueue_once(model: type[OutboxMixin], *, topic: str, key: str, event: Envelope) -> Insert:
    """An INSERT for the caller to execute that does nothing if this event id is already queued.

    For writers that may run twice with the same deterministic event ids (a Temporal activity
    retried after its commit), where :func:`enqueue` would fail on the unique event id.
    """
    row = {"event_id": event.id, "topic": topic, "key": key, "payload": event.to_bytes()}
    return insert(model).values(**row).on_conflict_do_nothing(index_elements=["event_id"])  # type: ignore[arg-type]


class OutboxRelay:
    """Publishes one service's outbox to Kafka, at least once and in order."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._sessions = session_factory
        self._model = model
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention = retention
        self._next_purge = 0.0

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows; returns how many went out."""
        m = self._model
        async with self._sessions() as session, session.begin():
            await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": RELAY_LOCK_ID})
            rows = (
                await session.execute(
                    select(m.id, m.topic, m.key, m.payload)
                    .where(m.published_at.is_(None))
                    .order_by(m.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            futures = [
                await self._producer.send(
                    row.topic, value=row.payload, key=row.key.encode(), headers=kafka_headers(row.payload)
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await session.execute(
                update(m).where(m.id.in_([row.id for row in rows])).values(published_at=datetime.now(UTC))
            )
            for row in rows:
                published_total.labels(row.topic).inc()
            return len(rows)

    async def purge_published(self) -> int:
        """Forget rows published longer ago than the retention: Kafka keeps the events themselves."""
        m = self._model
        cutoff = datetime.now(UTC) - self._retention
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(m).where(m.published_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                    await self.purge_published()
                sent = await self.publish_batch()
            except Exception:  # keep relaying: the rows stay unpublished and are retried
                log.exception("outbox relay batch failed; retrying")
                sent = 0
                await asyncio.sleep(1.0)
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._poll_interval)


def relay_task(
    bootstrap: str,
    session_factory: async_sessionmaker[AsyncSession],
    model: type[OutboxMixin],
    *,
    poll_interval: float = 0.2,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task for :func:`daiko.service.create_service_app` that owns its producer."""

    async def run(stop: asyncio.Event) -> None:
        from daiko.kafka import idempotent_producer

        producer = idempotent_producer(bootstrap)
        await producer.start()
        try:
            await OutboxRelay(session_factory, model, producer, poll_interval=poll_interval).run(stop)
        finally:
            await producer.stop()

    return run
