"""A retried message POST with its ``Idempotency-Key`` posts one message with its photos once (Stripe semantics)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.services.messaging import images
from tests.services.messaging.conftest import Client, OrderEvents, new_customer_id
from tests.services.messaging.test_attachments import rows_for
from tests.services.messaging.test_messages_api import known_order

pytestmark = pytest.mark.stack


async def test_a_retried_message_with_photos_is_posted_once_and_answered_as_the_first_time(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    headers = {**me.headers, "Idempotency-Key": str(uuid.uuid4())}
    url = f"/v1/orders/{order_id}/messages"
    data = {"body": "The box arrived crushed, photos attached."}

    def files() -> list[tuple[str, tuple[str, bytes, str]]]:
        return [("photos", ("a.png", images.png(), "image/png")), ("photos", ("b.jpg", images.jpeg(), "image/jpeg"))]

    first = await me.api.post(url, data=data, files=files(), headers=headers)
    assert first.status_code == 201, first.text
    again = await asyncio.gather(*(me.api.post(url, data=data, files=files(), headers=headers) for _ in range(3)))
    assert {r.status_code for r in again} == {201}
    assert {r.headers["idempotent-replayed"] for r in again} == {"true"}
    assert all(r.json() == first.json() and r.headers["location"] == url for r in again)
    assert await rows_for(db_sessions["messaging"], order_id) == (1, 2)

    other_photo = [("photos", ("a.png", images.png(), "image/png"))]
    different = await me.api.post(url, data=data, files=other_photo, headers=headers)
    assert different.status_code == 422
    assert different.headers["content-type"] == "application/problem+json"
    assert different.json()["type"].endswith("/idempotency-key-reused")
    assert await rows_for(db_sessions["messaging"], order_id) == (1, 2)


async def test_keys_are_the_callers_own_and_staff_replies_are_idempotent_too(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    as_staff: Client,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    key = {"Idempotency-Key": f"msg-{uuid.uuid4()}"}
    mine = await me.api.post(f"/v1/orders/{order_id}/messages", json={"body": "Hello"}, headers={**me.headers, **key})
    staff_url = f"/v1/staff/orders/{order_id}/messages"
    reply = await as_staff.api.post(staff_url, json={"body": "Hello"}, headers={**as_staff.headers, **key})
    replayed = await as_staff.api.post(staff_url, json={"body": "Hello"}, headers={**as_staff.headers, **key})
    assert (mine.status_code, reply.status_code, replayed.status_code) == (201, 201, 201)
    assert replayed.json()["id"] == reply.json()["id"] != mine.json()["id"]
    assert await rows_for(db_sessions["messaging"], order_id) == (2, 0)
