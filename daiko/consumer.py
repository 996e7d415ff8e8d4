"""Idempotent consumer: an event's effect and the record that it was applied commit together.

Offsets are committed to Kafka only after that database transaction, so a crash
re-delivers the event and the processed-events table turns the re-delivery into
a no-op.

Nothing is ever dropped, and nothing is retried for ever. A failure of the
database, Kafka or Temporal is transient: the event is retried until they are
back. A message that can never be applied is parked in the service's
``dead_letters`` table on its first attempt, with the reason: bytes that are
not a valid envelope, an envelope the plumbing could not record (an id that is
not 1 to 64 printable characters, a NUL anywhere, a body over 1 MiB; see
:mod:`daiko.inbound`), or one that breaks its topic's contract (the service's
``check``, e.g. an unknown type or invalid data). A handler that keeps failing
for its own reasons is parked after ``max_attempts``. Parking cannot fail on the
message's content (:mod:`daiko.dead_letters`). Each partition is consumed by a
task of its own (:mod:`daiko.partitions`), so a message being retried holds up
only the orders on its partition. Staff replay dead letters with ``daiko
dead-letters replay``; the consumer that parked them re-runs them here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter
from sqlalchemy import DateTime, String, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from daiko import logs, tracing
from daiko.db import database_unavailable
from daiko.dead_letters import MAX_ERROR, optional_safe_text, replay_next, safe_text
from daiko.dead_letters import DeadLetterMixin as DeadLetterMixin  # defined with its queries, used from here too
from daiko.errors import Unavailable
from daiko.events import Envelope
from daiko.inbound import MAX_BODY_BYTES, Unreadable, read_envelope
from daiko.kafka import KafkaConnection
from daiko.metrics import ConsumerGroup, watch_consumer_group
from daiko.partitions import PartitionedConsumption, Record

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
BatchEffect = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]
"""The effects of a batch's new events (in order, each once), in the caller's transaction; as ``Handler`` on each."""
OrderKey = Callable[[Envelope], str | None]
"""What must stay in order within a partition (e.g. the order an event is about); ``None``: keep it in line."""
Check = Callable[[Envelope], object]
"""Reads an envelope against the service's contract of its topic; raises ``ValueError`` saying why it breaks it.

Passed in by the service, so this plumbing stays ignorant of what the events mean.
"""

consumed_total = Counter("daiko_events_consumed_total", "Events applied", ["consumer", "type"])
duplicates_total = Counter("daiko_events_duplicate_total", "Re-delivered events skipped", ["consumer"])
dead_letters_total = Counter("daiko_events_dead_lettered_total", "Events parked in dead_letters", ["consumer"])

# Serialization failure and deadlock: the transaction lost a race and will pass when retried.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    """A failure of a part we depend on (retry until it is back), not of the event itself.

    A handler's gateway says so with :class:`daiko.errors.Unavailable` (e.g. the
    orders service when Temporal is down): this plumbing knows neither Temporal
    nor HTTP.
    """
    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, DBAPIError) and str(getattr(exc.orig, "sqlstate", "")) in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, TimeoutError) or database_unavailable(exc)


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
    applied = await _claim_and_apply(session, model, consumer, event, handler)
    _count(consumer, event, applied)
    return applied


async def _claim_and_apply(
    session: AsyncSession,
    model: type[ProcessedEventMixin],
    consumer: str,
    event: Envelope,
    handler: Handler,
) -> bool:
    """The claim on the event's id and its effect, in the caller's transaction; ``False`` for a re-delivery.

    The claim is an insert on the primary key, so a second copy of the event in the
    same transaction (a duplicate inside one batch) finds the first claim and is skipped too.
    """
    claimed = await session.execute(
        insert(model)  # type: ignore[arg-type]
        .values(consumer=consumer, event_id=event.id)
        .on_conflict_do_nothing()
        .returning(model.event_id)
    )
    if claimed.first() is None:
        return False
    await handler(session, event)
    return True


async def _claim_all(
    session: AsyncSession, model: type[ProcessedEventMixin], consumer: str, events: list[Envelope]
) -> list[bool]:
    """Claims a batch's event ids in one statement; ``True`` for each event to apply.

    ``False`` for one applied before and for a second copy inside the batch: only the first
    copy of an id claimed here is applied.
    """
    ids = list(dict.fromkeys(event.id for event in events))
    table = model.__table__  # type: ignore[attr-defined]
    # One statement of one text for any number of ids (an array), so nothing is compiled per batch size.
    claimed = set(
        (
            await session.scalars(
                text(
                    f"INSERT INTO {table.name} (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[])) "
                    "ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"consumer": consumer, "ids": ids},
            )
        ).all()
    )
    applied = []
    for event in events:
        applied.append(event.id in claimed)
        claimed.discard(event.id)
    return applied


def _count(consumer: str, event: Envelope, applied: bool) -> None:
    """Counted once committed (a batch that rolls back and is re-run one at a time counts once)."""
    if applied:
        consumed_total.labels(consumer, event.type).inc()
    else:
        duplicates_total.labels(consumer).inc()


class IdempotentConsumer:
    """Consumes topics into one service's database, each event applied exactly once.

    Every record ends applied or dead-lettered: what could never be applied is parked on its
    first attempt (:func:`daiko.inbound.read_envelope` and the service's ``check``), a handler
    failing for its own reasons after ``max_attempts``. Partitions run independently
    (:mod:`daiko.partitions`), and the consumer also re-runs the dead letters staff ask it to
    replay.
    """

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
        max_body_bytes: int = MAX_BODY_BYTES,
        replay_poll_interval: float = 1.0,
        batch: bool = False,
        batch_handler: BatchEffect | None = None,
        concurrent_by: OrderKey | None = None,
        max_concurrent: int = 8,
    ) -> None:
        """``batch_handler`` (with ``batch``): a batch's new events in one call instead of ``handler`` on each.

        ``concurrent_by`` (without ``batch``): a partition batch's records with different keys are
        applied concurrently, each key's in order (:meth:`apply_concurrently`), at most
        ``max_concurrent`` at once across all partitions (each holds a database connection).
        """
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
        self._max_body_bytes = max_body_bytes
        self._replay_poll_interval = replay_poll_interval
        self._batch = batch
        self._batch_handler = batch_handler
        self._concurrent_by = concurrent_by
        self._slots = asyncio.Semaphore(max_concurrent)

    def read(self, raw: bytes, topic: str) -> Envelope:
        """The envelope, or :class:`Unreadable` if neither the plumbing nor the service's contract accepts it."""
        event = read_envelope(raw, max_body_bytes=self._max_body_bytes)
        if self._check is not None:
            try:
                self._check(event)
            except ValueError as exc:  # retrying cannot make it valid: park it at once, with the reason
                raise Unreadable(
                    f"breaks the contract of {topic}: {exc}", event_id=event.id, event_type=event.type
                ) from None
            except Exception as exc:  # a check that trips over odd data must not crash the consumer in a loop
                log.exception("contract check failed", extra={"consumer": self.name, "event_id": event.id})
                raise Unreadable(
                    f"the contract check of {topic} failed: {exc!r}", event_id=event.id, event_type=event.type
                ) from None
        return event

    async def handle_record(self, record: Record, stop: asyncio.Event | None = None) -> bool:
        """Applies or parks the record; ``False`` only when ``stop`` was set before either could happen.

        In a consumer span that continues the producer's trace (``traceparent`` header), with the
        event's ids bound to every log line it writes.
        """
        with (
            tracing.consumed(self.name, record.topic, record.partition, record.offset, record.headers),
            logs.bound(consumer=self.name),
        ):
            return await self._handle_record(record, stop)

    async def _handle_record(self, record: Record, stop: asyncio.Event | None = None) -> bool:
        stop = stop or asyncio.Event()
        try:
            event = self.read(record.value or b"", record.topic)
        except Unreadable as exc:
            return await self._park(record, exc.event_id, exc.event_type, str(exc), attempts=1, stop=stop)
        failures, delay = 0, self._retry_delay
        logs.bind_event(event.id, event.type, event.data)
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await apply_once(session, self._model, self.name, event, self._handler)
                return True
            except Exception as exc:
                transient = is_transient(exc)
                failures += 0 if transient else 1
                log.warning(
                    "handler failed; retrying",
                    exc_info=not transient,
                    extra={"consumer": self.name, "event_id": event.id, "type": event.type, "transient": transient},
                )
                if failures >= self._max_attempts:
                    return await self._park(record, event.id, event.type, repr(exc), attempts=failures, stop=stop)
            if await _stopped(stop, delay):
                return False
            delay = min(delay * 2, self._max_retry_delay)

    async def apply_batch(self, records: list[Record], stop: asyncio.Event | None = None) -> bool:
        """Applies a partition's batch in one transaction; ``False`` if the caller must go one record at a time.

        One commit (and one wake-up of the outbox relay) for the whole batch instead of one per
        event is most of what an event costs when the effect itself is a few indexed writes.
        Exactly-once holds as for one event: every processed-event id commits with the effects,
        the offsets are committed after. Anything that is not a clean run of good events - a record
        to park, a handler error, an outage - rolls the batch back and the caller applies the same
        records one at a time, where each gets its retries or its dead letter, so a poison message
        costs its batch one extra attempt and never holds up the good messages beside it.
        """
        if len(records) < 2 or (stop is not None and stop.is_set()):
            return False
        try:
            events = [self.read(record.value or b"", record.topic) for record in records]
        except Unreadable:
            return False  # parked one at a time, in its place in the partition
        try:
            async with self._sessions() as session, session.begin():
                if self._batch_handler is None:
                    applied = [
                        await _claim_and_apply(session, self._model, self.name, event, self._handler)
                        for event in events
                    ]
                else:  # one claim for all the ids, one call for all the new events
                    applied = await _claim_all(session, self._model, self.name, events)
                    await self._batch_handler(session, [e for e, new in zip(events, applied, strict=True) if new])
        except Exception as exc:
            log.warning(
                "batch failed; applying its records one at a time",
                exc_info=not is_transient(exc),
                extra={"consumer": self.name, "records": len(records), "first_offset": records[0].offset},
            )
            return False
        for event, was_applied in zip(events, applied, strict=True):
            _count(self.name, event, was_applied)
        return True

    async def apply_concurrently(self, records: list[Record], stop: asyncio.Event | None = None) -> bool:
        """Applies a partition's batch with each key's records in order and different keys side by side.

        For a handler whose effect leaves the database (the orders bridge signals a workflow, one
        RPC per event): each record is still its own transaction, applied or parked as
        :meth:`handle_record` does, but the orders on one partition no longer queue behind each
        other. The offsets are committed after the whole batch, as ever. ``False`` (the caller goes
        on one record at a time, where what was applied here is found applied) only if ``stop``
        was set before every record was done.
        """
        if len(records) < 2 or self._concurrent_by is None:
            return False
        lines: dict[str | None, list[Record]] = {}
        for record in records:
            lines.setdefault(self._key_of(record), []).append(record)
        if len(lines) < 2:
            return False

        async def line(queue: list[Record]) -> bool:
            for record in queue:
                async with self._slots:
                    if not await self.handle_record(record, stop):
                        return False
            return True

        return all(await asyncio.gather(*(line(queue) for queue in lines.values())))

    def _key_of(self, record: Record) -> str | None:
        """The record's ordering key; one that cannot be read stays in the line of the unkeyed."""
        assert self._concurrent_by is not None
        try:
            return self._concurrent_by(self.read(record.value or b"", record.topic))
        except Unreadable:
            return None

    async def _park(
        self,
        record: Record,
        event_id: str | None,
        event_type: str | None,
        error: str,
        *,
        attempts: int,
        stop: asyncio.Event,
    ) -> bool:
        """Keep the message for staff; retried while the database is away, so it is never lost.

        The columns are written so that no content can make the insert fail; should it fail anyway
        for a reason of its own, the row is written again without what was read of the envelope.
        """
        values = {
            "consumer": self.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key,
            "event_id": optional_safe_text(event_id),
            "event_type": optional_safe_text(event_type),
            "payload": record.value or b"",
            "error": safe_text(error, MAX_ERROR),
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
            except Exception as exc:
                log.exception("could not park a dead letter; retrying", extra={"consumer": self.name})
                if not is_transient(exc):
                    unrecordable = safe_text(f"(the reason could not be recorded: {exc!r})", 1000)
                    values |= {"event_id": None, "event_type": None, "error": unrecordable}
            if await _stopped(stop, delay):
                return False
            delay = min(delay * 2, self._max_retry_delay)
        dead_letters_total.labels(self.name).inc()
        log.error(
            "event parked in dead_letters",
            extra={
                "consumer": self.name,
                "topic": record.topic,
                "offset": record.offset,
                "error": values["error"][:500],
            },
        )
        return True

    async def replay_requested(self) -> int:
        """Re-runs the dead letters staff asked to replay, one transaction each; returns how many ran.

        The replay takes the path of a first delivery: read and checked, then applied with its
        processed-event id in one transaction, which also marks the dead letter replayed. One that
        fails again stays parked with the new reason; one that meets an outage stays requested.
        """
        ran = 0
        while (replayed := await replay_next(self._sessions, self._dead_letters, self.name, self._reapply)) is not None:
            ran += 1
            row_id, error = replayed
            log.warning(
                "dead letter replayed",
                extra={"consumer": self.name, "dead_letter": row_id, "applied": error is None, "error": error},
            )
        return ran

    async def _reapply(self, session: AsyncSession, payload: bytes, topic: str) -> str | None:
        """Why the replay failed, or ``None`` if it is applied (or was already); an outage propagates."""
        try:
            event = self.read(payload, topic)
        except Unreadable as exc:
            return str(exc)
        try:
            async with session.begin_nested():
                await apply_once(session, self._model, self.name, event, self._handler)
        except Exception as exc:
            if is_transient(exc):
                raise
            return repr(exc)
        return None

    async def _replay_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.replay_requested()
            except Exception:  # an outage: the requests stay, the next poll tries again
                log.exception("replaying dead letters failed; retrying", extra={"consumer": self.name})
            await _stopped(stop, self._replay_poll_interval)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until ``stop`` is set: the partitions' tasks, and the replays staff ask for.

        The Kafka consumer comes subscribed to its topics (built by :func:`daiko.kafka.committed_consumer`);
        the subscription is renewed here with the listener that stops a partition's task when a
        rebalance takes the partition away.
        """
        stop = stop or asyncio.Event()
        batches = self.apply_batch if self._batch else self.apply_concurrently if self._concurrent_by else None
        partitions = PartitionedConsumption(self._consumer, self.handle_record, lambda _tp, _position: None, batches)
        self._consumer.subscribe(sorted(self._consumer.subscription()), listener=partitions)
        await self._consumer.start()
        replays = asyncio.create_task(self._replay_loop(stop), name=f"{self.name}-replays")
        try:
            await partitions.run(stop)
        finally:
            replays.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replays
            await self._consumer.stop()


async def _stopped(stop: asyncio.Event, delay: float) -> bool:
    """Waits ``delay`` seconds, or less if ``stop`` is set meanwhile; says whether it was."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    return stop.is_set()


def consumer_task(
    *,
    name: str,
    connection: KafkaConnection,
    topics: tuple[str, ...],
    session_factory: async_sessionmaker[AsyncSession],
    processed_model: type[ProcessedEventMixin],
    dead_letter_model: type[DeadLetterMixin],
    handler: Handler,
    check: Check | None = None,
    batch: bool = False,
    batch_handler: BatchEffect | None = None,
    concurrent_by: OrderKey | None = None,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task for :func:`daiko.service.create_service_app`; ``name`` is the group id.

    The group is made known to :mod:`daiko.metrics`, whose scrape-time probe reports its lag per partition.
    ``batch`` applies each fetched partition batch in one transaction
    (:meth:`IdempotentConsumer.apply_batch`): only for a handler whose effects are all in the
    database, since a rolled-back batch runs its records again one at a time. ``batch_handler``
    then takes the batch's new events in one call (set-based writes), ``handler`` still each
    record that goes one at a time. ``concurrent_by`` instead applies a batch's records of
    different keys concurrently, each its own transaction (:meth:`IdempotentConsumer.apply_concurrently`).
    """
    watch_consumer_group(ConsumerGroup(name, topics, connection))

    async def run(stop: asyncio.Event) -> None:
        from daiko.kafka import committed_consumer

        kafka = committed_consumer(connection, name, *topics)
        consumer = IdempotentConsumer(
            name=name,
            consumer=kafka,
            session_factory=session_factory,
            processed_model=processed_model,
            dead_letter_model=dead_letter_model,
            handler=handler,
            check=check,
            batch=batch,
            batch_handler=batch_handler,
            concurrent_by=concurrent_by,
        )
        await consumer.run(stop)

    return run
