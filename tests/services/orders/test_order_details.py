"""R1 on the running stack: the order-details answer carries the order's message history, from one read.

The messages are posted and read through the messaging service's own API; the
orders service learns of them only from messaging's events (its copy of the
thread, ``services/orders/thread_copy.py``), so each test waits for the copy
to show what messaging has done.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.messaging import MessagePosted
from contracts.topics import source_of
from daiko.events import MESSAGING_EVENTS, Envelope
from daiko.kafka import idempotent_producer
from services.orders.db import OrderRecord
from services.orders.details import MESSAGES_SHOWN
from tests.conftest import StackSettings, bearer, customer_token, kafka_as
from tests.services.orders.driver import Driver, purchase_application

pytestmark = pytest.mark.stack

View = dict[str, Any]


@pytest.fixture(scope="session")
async def messaging_http(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.messaging_port}", timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
async def as_messaging(stack: StackSettings) -> AsyncIterator[AIOKafkaProducer]:
    """A producer with messaging's principal: the only one the ACLs let write its topic."""
    kafka = idempotent_producer(kafka_as(stack, "messaging"))
    await kafka.start()
    yield kafka
    await kafka.stop()


async def details_until(read: Callable[[], Any], check: Callable[[View], bool], what: str, timeout: float = 60) -> View:
    """Read the order details until ``check`` holds: the copy follows messaging's events, a moment behind."""
    deadline = time.monotonic() + timeout
    while True:
        view: View = await read()
        if check(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s; messages: {view.get('messages')}")
        await asyncio.sleep(0.2)


async def customer_writes(messaging: httpx.AsyncClient, driver: Driver, order_id: str, body: str) -> None:
    response = await messaging.post(f"/v1/orders/{order_id}/messages", json={"body": body}, headers=driver.customer)
    assert response.status_code in (201, 202), response.text


async def staff_writes(messaging: httpx.AsyncClient, driver: Driver, order_id: str, body: str) -> None:
    response = await messaging.post(f"/v1/staff/orders/{order_id}/messages", json={"body": body}, headers=driver.staff)
    assert response.status_code == 201, response.text


async def an_estimated_order(driver: Driver) -> str:
    order_id = await driver.apply(purchase_application())
    await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    return order_id


async def test_r1_the_order_details_show_the_latest_messages_newest_first_and_what_the_customer_has_not_read(
    driver: Driver, messaging_http: httpx.AsyncClient
) -> None:
    order_id = await an_estimated_order(driver)
    # The estimate's notice arrives from messaging; the customer's own messages are never "unread" to them.
    first = await details_until(
        lambda: driver.view(order_id), lambda v: v["messages"]["count"] >= 1, "estimate notice in the details"
    )
    notices = first["messages"]["count"]
    assert first["messages"]["href"] == f"/v1/orders/{order_id}/messages"
    assert first["messages"]["unread_count"] == notices
    for n in range(1, 6):
        await customer_writes(messaging_http, driver, order_id, f"question {n}")
    await staff_writes(messaging_http, driver, order_id, "answer to all five")

    view = await details_until(
        lambda: driver.view(order_id),
        lambda v: v["messages"]["count"] == notices + 6,
        "six messages in the details",
    )
    thread = view["messages"]
    assert len(thread["latest"]) == MESSAGES_SHOWN
    assert [m["body"] for m in thread["latest"]] == [
        "answer to all five",
        "question 5",
        "question 4",
        "question 3",
        "question 2",
    ]
    assert [m["author_role"] for m in thread["latest"][:2]] == ["staff", "customer"]
    seqs = [m["seq"] for m in thread["latest"]]
    assert seqs == sorted(seqs, reverse=True)
    assert thread["unread_count"] == notices + 1  # the notices and the staff's answer
    assert view["status"] == "awaiting_payment" and view["billings"]  # the rest of the view is all there

    read = await messaging_http.post(f"/v1/orders/{order_id}/messages/read", headers=driver.customer)
    assert read.status_code == 200, read.text
    await details_until(
        lambda: driver.view(order_id), lambda v: v["messages"]["unread_count"] == 0, "the read receipt applied"
    )


async def test_r1_staff_see_how_many_of_the_customers_messages_they_have_not_read(
    driver: Driver, messaging_http: httpx.AsyncClient
) -> None:
    order_id = await an_estimated_order(driver)
    await details_until(lambda: driver.view(order_id), lambda v: v["messages"]["count"] >= 1, "the estimate notice")
    await customer_writes(messaging_http, driver, order_id, "is the figure boxed?")
    await customer_writes(messaging_http, driver, order_id, "and the manual?")

    view = await details_until(
        lambda: driver.staff_view(order_id),
        lambda v: v["messages"]["unread_count"] == 2,
        "two unread customer messages for staff",
    )
    assert view["messages"]["href"] == f"/v1/staff/orders/{order_id}/messages"
    assert view["messages"]["latest"][0]["body"] == "and the manual?"

    read = await messaging_http.post(f"/v1/staff/orders/{order_id}/messages/read", headers=driver.staff)
    assert read.status_code == 200, read.text
    await details_until(
        lambda: driver.staff_view(order_id), lambda v: v["messages"]["unread_count"] == 0, "staff's read receipt"
    )
    customer_side = await driver.view(order_id)
    assert customer_side["messages"]["unread_count"] >= 1  # the estimate notice: staff reading is not the customer's


async def test_r1_a_message_event_delivered_twice_shows_once(
    driver: Driver, messaging_http: httpx.AsyncClient, as_messaging: AIOKafkaProducer
) -> None:
    order_id = await an_estimated_order(driver)
    await staff_writes(messaging_http, driver, order_id, "we are on it")
    before = await details_until(
        lambda: driver.view(order_id),
        lambda v: any(m["body"] == "we are on it" for m in v["messages"]["latest"]),
        "the staff message",
    )
    shown = next(m for m in before["messages"]["latest"] if m["body"] == "we are on it")
    posted = MessagePosted(
        message_id=shown["message_id"],
        order_id=order_id,
        customer_id=driver.customer_id,
        author_role="staff",
        kind="message",
        notice_type=None,
        body="we are on it",
        attachment_count=0,
        posted_at=shown["posted_at"],
        seq=shown["seq"],
    )
    # The same message again under a new event id (a producer retry after a lost answer), then a marker.
    again = Envelope(type=posted.type, source=source_of("messaging"), subject=order_id, data=posted.to_data())
    await as_messaging.send_and_wait(MESSAGING_EVENTS, again.to_bytes(), key=order_id.encode())
    await staff_writes(messaging_http, driver, order_id, "marker")

    after = await details_until(
        lambda: driver.view(order_id),
        lambda v: v["messages"]["latest"][0]["body"] == "marker",
        "the marker after the replayed event",
    )
    assert after["messages"]["count"] == before["messages"]["count"] + 1
    assert [m["body"] for m in after["messages"]["latest"]].count("we are on it") == 1


async def test_r1_another_customers_order_details_stay_not_found(driver: Driver, settings: StackSettings) -> None:
    order_id = await an_estimated_order(driver)
    stranger = bearer(customer_token(settings, f"cust-{uuid.uuid4().hex[:12]}"))
    response = await driver.http.get(f"/v1/orders/{order_id}", headers=stranger)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    unauthenticated = await driver.http.get(f"/v1/orders/{order_id}")
    assert unauthenticated.status_code == 401


async def test_r1_the_details_serve_the_view_as_the_workflow_stored_it_fields_it_adds_included(
    driver: Driver, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id = await driver.apply(purchase_application())
    estimated = await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    await driver.wait_for(order_id, lambda v: v["version"] >= estimated["version"], "the estimate in the read model")
    async with db_sessions["orders"]() as session, session.begin():  # what a newer workflow would store
        row = await session.get(OrderRecord, order_id)
        assert row is not None
        row.view = {**row.view, "notes_for_customer": ["we will gift-wrap it"]}

    view = await driver.view(order_id)
    assert view["notes_for_customer"] == ["we will gift-wrap it"]
    assert {key: value for key, value in view.items() if key not in ("notes_for_customer", "messages")} == {
        key: value
        for key, value in (await driver.staff_view(order_id)).items()
        if key not in ("notes_for_customer", "messages", "staff")
    }
