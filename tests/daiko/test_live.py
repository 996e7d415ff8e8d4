"""Live streams (``GET /v1/live``): each service's own events pushed to whoever may see them.

On the real stack, through the edge as the portal reads them: events written
through a service's outbox (by a real operation, or enqueued in the service's
own outbox table) reach Kafka, the service's one live consumer, and the
connected streams. A customer's stream carries their own events only, staff's
carries all of them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.messaging import MessagePosted
from daiko.auth import Principal, Role
from daiko.events import MESSAGING_EVENTS, Envelope
from daiko.kafka import KafkaConnection
from daiko.live import LiveFeed, LiveHub
from daiko.outbox import enqueue
from daiko.settings import KafkaLogin
from services.deposits.events import DEPOSITS_LIVE
from services.messaging.db import Outbox as MessagingOutbox
from tests.conftest import StackSettings, bearer, customer_token, staff_token
from tests.services.orders.driver import purchase_application

PATIENCE = 60.0
"""How long a test waits for an event before failing (a bound on a hang, not a measured latency)."""


@dataclass
class LiveEvent:
    event: str
    id: str
    envelope: dict[str, Any]


@dataclass
class Listener:
    """One open stream: its events as they arrive, parsed from the SSE lines."""

    response: httpx.Response
    events: asyncio.Queue[LiveEvent] = field(default_factory=asyncio.Queue)
    comments: list[str] = field(default_factory=list)

    async def read(self) -> None:
        fields: dict[str, str] = {}
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                self.comments.append(line)
            elif line == "":
                if "data" in fields:
                    await self.events.put(LiveEvent(fields["event"], fields["id"], json.loads(fields["data"])))
                fields = {}
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    async def next(self) -> LiveEvent:
        return await asyncio.wait_for(self.events.get(), timeout=PATIENCE)

    async def next_of_order(self, order_id: str) -> LiveEvent:
        """The first event about ``order_id`` (a staff stream carries every other test's events too)."""
        while True:
            event = await self.next()
            if event.envelope["data"].get("order_id") == order_id:
                return event


@pytest.fixture
async def edge(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.edge_port}", timeout=60) as client:
        yield client


@asynccontextmanager
async def listening(edge: httpx.AsyncClient, service: str, token: str) -> AsyncIterator[Listener]:
    """A stream open from its answer's headers on: the service has registered it, nothing later is missed."""
    async with edge.stream("GET", f"/api/{service}/v1/live", headers=bearer(token)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        listener = Listener(response)
        reader = asyncio.create_task(listener.read())
        try:
            yield listener
        finally:
            reader.cancel()


def new_customer() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


async def post_message_event(
    sessions: async_sessionmaker[AsyncSession], *, order_id: str, customer_id: str
) -> Envelope:
    """A ``message.posted`` written through messaging's own outbox, keyed by the order like every message."""
    event = MessagePosted(
        message_id=f"msg-{uuid.uuid4().hex[:12]}",
        order_id=order_id,
        customer_id=customer_id,
        author_role="staff",
        kind="message",
        notice_type=None,
        body="Your items arrived at the warehouse.",
        attachment_count=0,
        posted_at=datetime.now(UTC),
    )
    envelope = Envelope(type=event.type, source="daiko/messaging", subject=order_id, data=event.to_data())
    async with sessions() as session, session.begin():
        enqueue(session, MessagingOutbox, topic=MESSAGING_EVENTS, key=order_id, event=envelope)
    return envelope


@pytest.mark.parametrize("service", ["orders", "deposits", "messaging"])
async def test_a_stream_without_a_token_is_a_401_problem(edge: httpx.AsyncClient, service: str) -> None:
    answer = await edge.get(f"/api/{service}/v1/live")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_message_reaches_its_customer_and_staff_and_never_another_customer(
    stack: StackSettings, edge: httpx.AsyncClient, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    """Both events share the order's key, so one partition, in order: when the other customer's stream
    shows its own event, the first one has been through the hub and was not given to them."""
    owner, other = new_customer(), new_customer()
    order_id = f"P-live-{uuid.uuid4().hex[:10]}"
    async with (
        listening(edge, "messaging", customer_token(stack, owner)) as owners,
        listening(edge, "messaging", customer_token(stack, other)) as others,
        listening(edge, "messaging", staff_token(stack)) as staffs,
    ):
        first = await post_message_event(db_sessions["messaging"], order_id=order_id, customer_id=owner)
        second = await post_message_event(db_sessions["messaging"], order_id=order_id, customer_id=other)

        received = await owners.next()
        assert (received.event, received.id) == ("message.posted", first.id)
        assert received.envelope["id"] == first.id and received.envelope["data"]["customer_id"] == owner
        assert received.envelope["data"]["body"] == "Your items arrived at the warehouse."

        theirs = await others.next()
        assert theirs.id == second.id, "the other customer's stream carried an event that is not theirs"

        seen_by_staff = [await staffs.next_of_order(order_id), await staffs.next_of_order(order_id)]
        assert [e.id for e in seen_by_staff] == [first.id, second.id]


async def test_an_application_shows_on_the_customers_order_stream(
    stack: StackSettings, edge: httpx.AsyncClient
) -> None:
    """A real operation: applying starts the order's workflow, whose order.applied leaves by the orders outbox."""
    customer = new_customer()
    token = customer_token(stack, customer)
    async with listening(edge, "orders", token) as mine, listening(edge, "orders", staff_token(stack)) as staffs:
        applied = await edge.post("/api/orders/v1/orders", json=purchase_application(), headers=bearer(token))
        assert applied.status_code == 201, applied.text
        order_id = applied.json()["order_id"]
        event = await mine.next()
        assert event.event == "order.applied"
        assert event.envelope["data"]["order_id"] == order_id
        assert event.envelope["data"]["customer_id"] == customer
        assert (await staffs.next_of_order(order_id)).event == "order.applied"


async def test_a_confirmed_pay_in_shows_on_the_customers_deposit_stream(
    stack: StackSettings, edge: httpx.AsyncClient
) -> None:
    customer = new_customer()
    token = customer_token(stack, customer)
    async with listening(edge, "deposits", token) as mine:
        report = await edge.post(
            "/api/deposits/v1/deposit/pay-in-reports",
            json={
                "amount": 5000,
                "transfer_date": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
                "sender_name": "YAMADA",
            },
            headers=bearer(token),
        )
        assert report.status_code == 201, report.text
        confirmed = await edge.post(
            f"/api/deposits/v1/staff/pay-in-reports/{report.json()['id']}/confirm",
            json={},
            headers=bearer(staff_token(stack)),
        )
        assert confirmed.status_code == 200, confirmed.text
        event = await mine.next()
        assert event.event == "deposit.credited"
        assert event.envelope["data"]["customer_id"] == customer
        assert event.envelope["data"]["amount"] == 5000


async def test_heartbeats_keep_an_idle_stream_open(stack: StackSettings, edge: httpx.AsyncClient) -> None:
    async with listening(edge, "messaging", customer_token(stack, new_customer())) as idle:
        for _ in range(int(PATIENCE * 10)):
            if idle.comments:
                break
            await asyncio.sleep(0.1)
        assert idle.comments and idle.comments[0].startswith(": ping"), "no heartbeat comment"
        assert idle.events.empty()


# --------------------------------------------------------------------------- what each principal may see

CUSTOMER = Principal(subject="cust-1", role=Role.CUSTOMER)
STAFF = Principal(subject="staff-1", role=Role.STAFF)


def _envelope(event_type: str, **data: Any) -> Envelope:
    return Envelope(type=event_type, source="daiko/deposits", subject=str(data.get("customer_id")), data=data)


def test_a_customer_never_sees_another_customers_event() -> None:
    feed = LiveFeed("topic")
    assert feed.visible_to(CUSTOMER, _envelope("order.paid", customer_id="cust-2")) is None
    assert feed.visible_to(CUSTOMER, _envelope("message.posted", customer_id=None)) is None
    assert feed.visible_to(CUSTOMER, _envelope("order.paid", customer_id="cust-1")) is not None


def test_the_ledgers_signature_and_failed_refunds_stay_with_staff() -> None:
    charged = _envelope("deposit.charged", customer_id="cust-1", amount=100, attestation={"signature": "..."})
    seen = DEPOSITS_LIVE.visible_to(CUSTOMER, charged)
    assert seen is not None and "attestation" not in seen.data and seen.data["amount"] == 100
    assert DEPOSITS_LIVE.visible_to(STAFF, charged) == charged
    rejected = _envelope("deposit.refund_rejected", customer_id="cust-1", reason="invalid-command")
    assert DEPOSITS_LIVE.visible_to(CUSTOMER, rejected) is None
    assert DEPOSITS_LIVE.visible_to(STAFF, rejected) == rejected


async def test_a_slow_client_is_disconnected_and_the_others_keep_receiving() -> None:
    """A full queue ends that stream; the hub never waits for it."""
    unused = KafkaConnection("127.0.0.1:1", KafkaLogin("unused", SecretStr("unused")))  # publish needs no broker
    hub = LiveHub(unused, LiveFeed("topic"), queue_size=2)
    slow, fast = hub.open(CUSTOMER), hub.open(STAFF)
    for n in range(3):
        hub.publish(_envelope("order.paid", customer_id="cust-1", n=n))
        await fast.queue.get()
    assert slow.overflowed and slow not in hub.streams
    assert not fast.overflowed and fast in hub.streams
    assert [message async for message in hub.events(slow)] == []
