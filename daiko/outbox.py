"""Transactional outbox: events are rows written with the state change, then relayed to Kafka.

Each service's database has its own ``outbox`` table (a mapped subclass of
:class:`OutboxMixin`). The relay publishes unpublished rows in id order and only
then marks them published, so a crash between the two re-sends rows with the same
event id (consumers de-duplicate on it) and never loses one. Batches take a
transaction-scoped advisory lock, so two relay instances never interleave and
per-key order holds. Each message carries the CloudEvents binary-mode headers
of its envelope (:meth:`daiko.events.Envelope.kafka_headers`) next to its JSON body, and
the W3C trace context (``traceparent``) the row was written in, so each consumer
continues the writer's trace (:mod:`daiko.tracing`).

The relay wakes on commit: a statement trigger on the outbox (plumbing migration
0004) calls ``pg_notify`` on :data:`NOTIFY_CHANNEL`, which PostgreSQL delivers
when the writing transaction commits, and the relay LISTENs on one connection of
its own. Its poll is only a safety net: a lost listening connection or a missed
notification costs at most one poll interval, and the listener reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from daiko import tracing
from daiko.events import Envelope, kafka_headers
from daiko.kafka import KafkaConnection

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
RELAY_LOCK_ID = 0x0DA1C0  # one advisory lock id per database: each service owns its own database

NOTIFY_CHANNEL = "daiko_outbox"  # the trigger of plumbing migration 0004 notifies here on every outbox INSERT
LISTEN_CHECK_SECONDS = 10.0  # how often the idle listening connection proves it is still alive
LISTENER_APPLICATION_NAME = "daiko-outbox-listener"
LISTEN_RETRY_SECONDS = 1.0  # pause before reconnecting a lost listening connection

published_total = Counter("daiko_outbox_published_total", "Outbox rows published to Kafka", ["topic"])
wakeups_total = Counter("daiko_outbox_relay_wakeups_total", "Times an idle outbox relay woke up, by cause", ["cause"])
listening = Gauge("daiko_outbox_relay_listening", "1 while the relay holds its LISTEN connection, else 0", ["database"])


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
    # The W3C trace context the event was written in (daiko.tracing): the relay sends it as Kafka headers.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)

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
            trace_context=tracing.current_carrier() or None,
        )
    )


async def enqueue_many(
    session: AsyncSession, model: type[OutboxMixin], events: Sequence[tuple[str, str, Envelope]]
) -> None:
    """Add several events (``(topic, key, envelope)``) to the caller's transaction in one INSERT, in this order.

    What :func:`enqueue` does for each, for a consumer's batch: one statement of one text for
    any number of rows (arrays, numbered so the ids - the relay's order - follow the list)
    instead of an ORM object per event.
    """
    if not events:
        return
    await session.flush()  # rows enqueue() added before these get their (lower) ids first
    carrier = tracing.current_carrier()
    trace = json.dumps(carrier) if carrier else None
    table = model.__table__  # type: ignore[attr-defined]
    await session.execute(
        text(
            f"INSERT INTO {table.name} (event_id, topic, key, payload, trace_context) "
            "SELECT e, t, k, p, CAST(c AS jsonb) FROM unnest(CAST(:event_ids AS text[]), CAST(:topics AS text[]), "
            "CAST(:keys AS text[]), CAST(:payloads AS bytea[]), CAST(:traces AS text[])) "
            "WITH ORDINALITY AS v(e, t, k, p, c, n) ORDER BY n"
        ),
        {
            "event_ids": [event.id for _, _, event in events],
            "topics": [topic for topic, _, _ in events],
            "keys": [key for _, key, _ in events],
            "payloads": [event.to_bytes() for _, _, event in events],
            "traces": [trace] * len(events),
        },
    )


def enqueue_once(model: type[OutboxMixin], *, topic: str, key: str, event: Envelope) -> Insert:
    """An INSERT for the caller to execute that does nothing if this event id is already queued.

    For writers that may run twice with the same deterministic event ids (a Temporal activity
    retried after its commit), where :func:`enqueue` would fail on the unique event id.
    """
    row = {
        "event_id": event.id,
        "topic": topic,
        "key": key,
        "payload": event.to_bytes(),
        "trace_context": tracing.current_carrier() or None,
    }
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
        poll_interval: float = 1.0,
        retention: timedelta = timedelta(days=7),
        listen: bool = True,
    ) -> None:
        """``poll_interval`` is the safety net's period; ``listen=False`` relays by polling alone."""
        self._sessions = session_factory
        self._model = model
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention = retention
        self._next_purge = 0.0
        self._listen_enabled = listen

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows; returns how many went out."""
        m = self._model
        async with self._sessions() as session, session.begin():
            await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": RELAY_LOCK_ID})
            rows = (
                await session.execute(
                    select(m.id, m.topic, m.key, m.payload, m.trace_context)
                    .where(m.published_at.is_(None))
                    .order_by(m.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                with tracing.relayed(row.topic, row.key, row.trace_context) as trace_headers:
                    headers = kafka_headers(row.payload) + trace_headers
                    futures.append(
                        await self._producer.send(row.topic, value=row.payload, key=row.key.encode(), headers=headers)
                    )
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
        """Relay until ``stop``: a batch as soon as a commit notifies, else every poll interval.

        The wake-up flag is cleared *before* each batch reads, so a commit that lands while a batch
        runs (and that the batch's snapshot may miss) wakes the loop again at once. A full batch
        means more may be waiting, so the next one starts without waiting at all.
        """
        stop = stop or asyncio.Event()
        wake = asyncio.Event()
        listener = asyncio.create_task(self._listen(wake, stop)) if self._listen_enabled else None
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    if time.monotonic() >= self._next_purge:
                        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                        await self.purge_published()
                    sent = await self.publish_batch()
                except Exception:  # keep relaying: the rows stay unpublished and are retried
                    log.exception("outbox relay batch failed; retrying")
                    await _first_of(stop, None, 1.0)
                    continue
                if sent < self._batch_size:
                    woken = await _first_of(stop, wake, self._poll_interval)
                    wakeups_total.labels("notify" if woken else "poll").inc()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """Hold one LISTEN connection, outside the session pool, and set ``wake`` on each notification.

        On every (re)connect ``wake`` is set once as well: rows committed while nobody listened
        are then relayed at once instead of at the next poll. A connection that dies (PostgreSQL
        restarted, network cut) is noticed by its termination callback or by the periodic check,
        and replaced after a short pause; meanwhile the poll keeps the relay going.
        """
        engine = self._sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            log.warning("outbox relay: sessions are not bound to one engine; relaying by polling only")
            return
        url = engine.url
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    host=url.host,
                    port=url.port,
                    user=url.username,
                    password=url.password,
                    database=url.database,
                    server_settings={"application_name": LISTENER_APPLICATION_NAME},  # findable in pg_stat_activity
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_args: wake.set())
                listening.labels(str(url.database)).set(1)
                wake.set()
                while not stop.is_set() and not lost.is_set():
                    if not await _first_of(stop, lost, LISTEN_CHECK_SECONDS):
                        await conn.fetchval("SELECT 1", timeout=LISTEN_CHECK_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay: LISTEN connection lost; polling until it is back", exc_info=True)
            finally:
                listening.labels(str(url.database)).set(0)
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await _first_of(stop, None, LISTEN_RETRY_SECONDS)


async def _first_of(stop: asyncio.Event, event: asyncio.Event | None, timeout: float) -> bool:
    """Wait until ``stop`` or ``event`` is set or ``timeout`` passes; True if ``event`` was set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if event is not None:
        waiters.append(asyncio.ensure_future(event.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return event is not None and event.is_set()


def relay_task(
    connection: KafkaConnection,
    session_factory: async_sessionmaker[AsyncSession],
    model: type[OutboxMixin],
    *,
    poll_interval: float = 1.0,
    listen: bool = True,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task for :func:`daiko.service.create_service_app` that owns its producer."""

    async def run(stop: asyncio.Event) -> None:
        from daiko.kafka import idempotent_producer

        producer = idempotent_producer(connection)
        await producer.start()
        try:
            await OutboxRelay(session_factory, model, producer, poll_interval=poll_interval, listen=listen).run(stop)
        finally:
            await producer.stop()

    return run
