"""What the system tells other systems: the events on its Kafka topics, read as any subscriber would.

The feed starts at the current end of each topic, so a test sees only what
happened after it began, however much history the topics already hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from daiko.events import Envelope
from daiko.kafka import KafkaConnection, client_options


class EventFeed:
    def __init__(self, kafka: KafkaConnection, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False, group_id=None)
        self._topics = topics
        self.events: list[tuple[str, Envelope]] = []

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe(list(self._topics))  # no group: every partition of each topic is assigned
        deadline = time.monotonic() + 30
        while {tp.topic for tp in self._consumer.assignment()} != set(self._topics):
            assert time.monotonic() < deadline, f"no partitions assigned for {self._topics}"
            await asyncio.sleep(0.05)
        partitions = list(self._consumer.assignment())
        for tp, offset in (await self._consumer.end_offsets(partitions)).items():
            self._consumer.seek(tp, offset)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def _drain(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=200)
        for tp, records in batches.items():
            for record in records:
                self.events.append((tp.topic, Envelope.from_bytes(record.value or b"")))

    def about(self, order_id: str, topic: str | None = None) -> list[Envelope]:
        """Events about one order (its id as subject or in the data), de-duplicated by event id."""
        seen: dict[str, Envelope] = {}
        for event_topic, event in self.events:
            if topic is not None and event_topic != topic:
                continue
            if order_id in (event.subject, event.data.get("order_id")):
                seen.setdefault(event.id, event)
        return list(seen.values())

    async def until(
        self, order_id: str, topic: str, check: Callable[[list[Envelope]], bool], what: str, timeout: float = 60
    ) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        while True:
            await self._drain()
            events = self.about(order_id, topic)
            if check(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{topic}: no {what} for {order_id} within {timeout:.0f}s; saw {[e.type for e in events]}"
                )
            await asyncio.sleep(0.05)
