"""Live streams: ``GET /v1/live``, the service's own events pushed to the portal as Server-Sent Events.

Each service reads back its own topic (``contracts/topics.py``; the ACLs let a
producer read what it writes) with **one** Kafka consumer per process, from the
latest offset and without a consumer group (every partition assigned, nothing
committed: a stream is for what happens while it is open, and a group would
share the events out between replicas instead of giving each its own copy). The
consumer fans every event out in memory to the connected streams:

* a customer receives only the events whose ``customer_id`` is theirs, with the
  data fields a customer may see (:class:`LiveFeed` names what is staff-only);
  staff receive every event, whole;
* each stream has a bounded queue: a client that cannot keep up is disconnected
  (it reconnects and reloads), never slowing the consumer or the other streams;
* a heartbeat comment every ``DAIKO_LIVE_HEARTBEAT_SECONDS`` keeps proxies from
  closing an idle stream.

Each message is ``event: <type>``, ``id: <event id>``, ``data: <the envelope as JSON>``.
Authentication is the ``Authorization: Bearer`` header like every route (the
portal's ``@microsoft/fetch-event-source`` sends headers, which ``EventSource`` cannot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from daiko.auth import Principal, PrincipalDep
from daiko.events import Envelope
from daiko.kafka import KafkaConnection, client_options
from daiko.openapi import problem_responses

log = logging.getLogger(__name__)

LIVE_TAG = "live"


@dataclass(frozen=True)
class LiveFeed:
    """A service's live stream: its topic, and what of it customers must not see."""

    topic: str
    staff_only_types: frozenset[str] = frozenset()
    """Event types a customer's stream never carries (e.g. an internal failure staff must look at)."""
    staff_only_fields: frozenset[str] = frozenset()
    """Fields of ``data`` removed from a customer's copy (e.g. the ledger's signature)."""

    def visible_to(self, principal: Principal, envelope: Envelope) -> Envelope | None:
        """The event as ``principal`` may see it, or None when it is not theirs to see."""
        if principal.is_staff:
            return envelope
        if envelope.type in self.staff_only_types or envelope.data.get("customer_id") != principal.subject:
            return None
        data = {key: value for key, value in envelope.data.items() if key not in self.staff_only_fields}
        return envelope.model_copy(update={"data": data})


@dataclass(eq=False)
class Stream:
    """One connected client: its principal and its bounded queue of events still to send."""

    principal: Principal
    queue: asyncio.Queue[Envelope]
    overflowed: bool = False


@dataclass(eq=False)
class LiveHub:
    """The process's one consumer of its feed and the streams it fans out to."""

    kafka: KafkaConnection
    feed: LiveFeed
    queue_size: int = 256
    heartbeat_seconds: float = 15.0
    streams: set[Stream] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the consumer holds every partition at a known position: a stream opened after it misses nothing.
    Part of the service's readiness (``/readyz``)."""

    def open(self, principal: Principal) -> Stream:
        stream = Stream(principal, asyncio.Queue(maxsize=self.queue_size))
        self.streams.add(stream)
        return stream

    def close(self, stream: Stream) -> None:
        self.streams.discard(stream)

    def publish(self, envelope: Envelope) -> None:
        """Hand the event to every stream that may see it; a full queue disconnects its stream."""
        for stream in list(self.streams):
            visible = self.feed.visible_to(stream.principal, envelope)
            if visible is None:
                continue
            try:
                stream.queue.put_nowait(visible)
            except asyncio.QueueFull:
                stream.overflowed = True
                self.streams.discard(stream)
                log.warning("live stream too slow; disconnected", extra={"subject": stream.principal.subject})

    async def run(self, stop: asyncio.Event) -> None:
        """The background task: consume the topic from the latest offset, every partition, no group."""
        consumer = AIOKafkaConsumer(
            **client_options(self.kafka),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            isolation_level="read_committed",
        )
        consumer.subscribe([self.feed.topic])  # without a group: every partition is assigned to this consumer
        await consumer.start()
        try:
            while not consumer.assignment() and not stop.is_set():
                self._publish_batches(await consumer.getmany(timeout_ms=200))
            for partition in consumer.assignment():
                await consumer.position(partition)  # the latest offset, resolved: from here nothing is missed
            self.ready.set()
            while not stop.is_set():
                self._publish_batches(await consumer.getmany(timeout_ms=500, max_records=500))
        finally:
            self.ready.clear()
            await consumer.stop()

    def _publish_batches(self, batches: dict[Any, list[Any]]) -> None:
        for records in batches.values():
            for record in records:
                envelope = _envelope(record.value)
                if envelope is not None:
                    self.publish(envelope)

    async def events(self, stream: Stream) -> AsyncIterator[dict[str, Any]]:
        """The SSE messages of one stream until its client leaves or falls too far behind."""
        try:
            while not stream.overflowed:
                envelope = await stream.queue.get()
                if stream.overflowed:
                    break
                yield {"event": envelope.type, "id": envelope.id, "data": envelope.model_dump_json()}
        finally:
            self.close(stream)


def _envelope(raw: bytes | None) -> Envelope | None:
    """A record of the topic as an envelope; anything else is skipped (the consumers park it, not us)."""
    if raw is None:
        return None
    try:
        return Envelope.from_bytes(raw)
    except ValueError:
        return None


def live_router(hub: LiveHub) -> APIRouter:
    """``GET /v1/live`` over ``hub``: the caller's events as Server-Sent Events."""
    router = APIRouter(tags=[LIVE_TAG])

    @router.get(
        "/v1/live",
        summary="Live events of this service (Server-Sent Events): a customer's own, or all for staff",
        response_class=EventSourceResponse,
        responses={
            200: {
                "description": "`text/event-stream`: `event: <type>`, `id: <event id>`, `data: <the event envelope>`",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **problem_responses(401, 422),
        },
    )
    async def live(principal: PrincipalDep) -> EventSourceResponse:
        stream = hub.open(principal)  # before the answer starts: nothing written after it is missed
        return EventSourceResponse(
            hub.events(stream),
            ping=hub.heartbeat_seconds,
            send_timeout=hub.heartbeat_seconds * 2,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
