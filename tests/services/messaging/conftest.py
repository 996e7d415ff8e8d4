"""Fixtures for the messaging tests: the running messaging process, order events on Kafka, polling.

Consumer-dependent tests talk to the stack's messaging process (port 8103):
it consumes ``daiko.orders.events.v1`` with the service's own group id, so
events these tests produce are applied by the code under test. Every test
uses fresh order and customer ids, so reruns on a used database are fine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from daiko.events import MESSAGING_EVENTS, ORDERS_EVENTS, Envelope
from daiko.kafka import client_options
from tests.conftest import StackSettings, bearer, customer_token, kafka_as, staff_token
from tests.contracts.examples import order_event

T = TypeVar("T")
DEADLINE = 30.0  # generous: a slow shared machine; a poll returns as soon as the effect is there


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = DEADLINE, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``; fail clearly at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


def new_order_id() -> str:
    return f"ord-test-{uuid.uuid4().hex[:12]}"


def new_customer_id() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def api(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the stack's messaging process; fails clearly when it is not running."""
    base = f"http://127.0.0.1:{stack.messaging_port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        try:
            ready = await client.get("/readyz")
        except httpx.HTTPError as exc:
            pytest.fail(f"messaging service not reachable at {base}: {exc}; `daiko-stack up`", pytrace=False)
        if ready.status_code != 200:
            pytest.fail(f"messaging service not ready: {ready.text}", pytrace=False)
        yield client


@pytest.fixture(scope="session")
async def producer(stack: StackSettings) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(**client_options(kafka_as(stack)), acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


class OrderEvents:
    """Puts order events on the real ``daiko.orders.events.v1`` topic, shaped as the order workflow sends them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    def envelope(
        self,
        event_type: str,
        order_id: str,
        customer_id: str,
        *,
        time: datetime | None = None,
        closed_at: str | None = None,
        **data: Any,
    ) -> Envelope:
        """A valid ``event_type`` event (``tests.contracts.examples``) with ``data`` overriding its fields.

        Order events do not say when an order closed: a closing event ``closed_at`` a moment is sent
        at that moment, as the workflow sends it when it closes the order.
        """
        moment = time or (datetime.fromisoformat(closed_at) if closed_at else datetime.now(UTC))
        payload = order_event(event_type, order_id, customer_id, **data)
        return Envelope(type=event_type, source="daiko/orders", subject=order_id, time=moment, data=payload)

    async def send(self, envelope: Envelope) -> Envelope:
        await self._producer.send_and_wait(ORDERS_EVENTS, envelope.to_bytes(), key=envelope.subject.encode())
        return envelope

    async def publish(self, event_type: str, order_id: str, customer_id: str, **kwargs: Any) -> Envelope:
        return await self.send(self.envelope(event_type, order_id, customer_id, **kwargs))


@pytest.fixture
def order_events(producer: AIOKafkaProducer) -> OrderEvents:
    return OrderEvents(producer)


class Client:
    """One caller of the API (a customer or staff), with the paths of their side."""

    def __init__(self, api: httpx.AsyncClient, token: str, *, staff: bool) -> None:
        self.api = api
        self.headers = bearer(token)
        self.prefix = "/v1/staff/orders" if staff else "/v1/orders"

    async def thread(self, order_id: str) -> httpx.Response:
        return await self.api.get(f"{self.prefix}/{order_id}/messages", headers=self.headers)

    async def post(self, order_id: str, body: str = "Hello", **kwargs: Any) -> httpx.Response:
        if "files" in kwargs or "data" in kwargs:
            data = kwargs.pop("data", {"body": body})
            return await self.api.post(f"{self.prefix}/{order_id}/messages", data=data, headers=self.headers, **kwargs)
        return await self.api.post(
            f"{self.prefix}/{order_id}/messages", json={"body": body}, headers=self.headers, **kwargs
        )

    async def mark_read(self, order_id: str, up_to: str | None = None) -> httpx.Response:
        body = {"up_to": up_to} if up_to else {}
        return await self.api.post(f"{self.prefix}/{order_id}/messages/read", json=body, headers=self.headers)

    async def messages_when(
        self, order_id: str, accept: Callable[[list[dict[str, Any]]], bool], what: str
    ) -> list[dict[str, Any]]:
        """Poll the thread until ``accept(messages)`` holds."""

        async def probe() -> list[dict[str, Any]] | None:
            response = await self.thread(order_id)
            if response.status_code != 200:
                return None
            messages: list[dict[str, Any]] = response.json()["messages"]
            return messages if accept(messages) else None

        return await eventually(probe, what=what)

    async def notices_when(self, order_id: str, count: int) -> list[dict[str, Any]]:
        messages = await self.messages_when(
            order_id, lambda ms: sum(m["kind"] == "notice" for m in ms) >= count, f"{count} notices on {order_id}"
        )
        return [m for m in messages if m["kind"] == "notice"]

    async def status_when(self, order_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            response = await self.thread(order_id)
            body: dict[str, Any] = response.json()
            return body if response.status_code == 200 and body["order_status"] == status else None

        return await eventually(probe, what=f"order {order_id} to be {status}")


@pytest.fixture
def as_customer(api: httpx.AsyncClient, stack: StackSettings) -> Callable[[str], Client]:
    return lambda customer: Client(api, customer_token(stack, customer), staff=False)


@pytest.fixture
def as_staff(api: httpx.AsyncClient, stack: StackSettings) -> Client:
    return Client(api, staff_token(stack), staff=True)


class MessagingEvents:
    """Reads ``daiko.messaging.events.v1`` from where it ended when the test started."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.seen: list[Envelope] = []

    async def wait_for(self, accept: Callable[[Envelope], bool], what: str) -> Envelope:
        async def probe() -> Envelope | None:
            batches = await self._consumer.getmany(timeout_ms=100)
            for records in batches.values():
                self.seen += [Envelope.from_bytes(r.value) for r in records]
            return next((e for e in self.seen if accept(e)), None)

        return await eventually(probe, what=what)

    def matching(self, accept: Callable[[Envelope], bool]) -> list[Envelope]:
        return [e for e in self.seen if accept(e)]


@pytest.fixture
async def messaging_events(stack: StackSettings, producer: AIOKafkaProducer) -> AsyncIterator[MessagingEvents]:
    partitions = await producer.partitions_for(MESSAGING_EVENTS)
    consumer = AIOKafkaConsumer(**client_options(kafka_as(stack)), enable_auto_commit=False)
    await consumer.start()
    assigned = [TopicPartition(MESSAGING_EVENTS, p) for p in partitions]
    consumer.assign(assigned)
    await consumer.seek_to_end(*assigned)
    for tp in assigned:  # resolve the end offsets now, so later events are not skipped
        await consumer.position(tp)
    yield MessagingEvents(consumer)
    await consumer.stop()
