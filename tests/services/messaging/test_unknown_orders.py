"""Orders messaging has not heard of (see services.messaging.service): a 404 problem, and the race after applying.

Messaging learns an order from its ``order.applied``. Before, a message to an
order that did not exist was answered 202 "pending" and its thread then read
200; now both are 404 problems with ``Retry-After`` and nothing is stored. A
customer writing right after applying (the event still on its way) is held a
few seconds for the order, and posted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.messaging.db import Message
from services.messaging.events import expire_pending
from services.messaging.settings import MessagingSettings
from services.messaging.storage import LocalAttachmentStore
from tests.services.messaging.conftest import (
    Client,
    MessagingEvents,
    OrderEvents,
    eventually,
    new_customer_id,
    new_order_id,
)

pytestmark = pytest.mark.stack


def assert_order_not_known(response_status: int, headers: dict[str, str], body: dict[str, object]) -> None:
    assert response_status == 404, body
    assert headers["content-type"] == "application/problem+json"
    assert str(body["type"]).endswith("/order-not-known")
    assert "try again" in str(body["detail"])
    assert int(headers["retry-after"]) >= 1


async def messages_stored(sessions: async_sessionmaker[AsyncSession], order_id: str) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Message.order_id == order_id)) or 0)


async def test_a_message_to_an_order_messaging_has_never_heard_of_is_a_404_problem_and_nothing_is_kept(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    as_staff: Client,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()

    url, keyed = f"/v1/orders/{order_id}/messages", {**me.headers, "Idempotency-Key": str(uuid.uuid4())}
    posted = await me.api.post(url, json={"body": "Is my order there?"}, headers=keyed)
    assert_order_not_known(posted.status_code, dict(posted.headers), posted.json())
    read = await me.thread(order_id)
    assert_order_not_known(read.status_code, dict(read.headers), read.json())
    staff_read = await as_staff.thread(order_id)
    assert_order_not_known(staff_read.status_code, dict(staff_read.headers), staff_read.json())
    staff_post = await as_staff.post(order_id, "Hello")
    assert_order_not_known(staff_post.status_code, dict(staff_post.headers), staff_post.json())
    assert await messages_stored(db_sessions["messaging"], order_id) == 0

    # The order appearing later shows nothing of the refused message: the customer was told to retry, and the
    # retry (same key: the 404 was not stored as the key's answer) posts it.
    await order_events.publish("order.applied", order_id, customer, status="applied")
    thread = await me.status_when(order_id, "applied")
    assert thread["messages"] == []
    retried = await me.api.post(url, json={"body": "Is my order there?"}, headers=keyed)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


async def test_someone_elses_order_answers_exactly_like_an_unknown_one(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    owner, other = new_customer_id(), new_customer_id()
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, owner, status="applied")
    await as_customer(owner).status_when(order_id, "applied")

    theirs = await as_customer(other).post(order_id, "Is this mine?")
    unknown = await as_customer(other).post(new_order_id(), "Is this mine?")
    assert (theirs.status_code, theirs.json()["type"]) == (unknown.status_code, unknown.json()["type"])
    assert_order_not_known(theirs.status_code, dict(theirs.headers), theirs.json())


async def test_messages_written_right_after_applying_wait_for_the_order_and_are_all_posted(
    order_events: OrderEvents, as_customer: Callable[[str], Client], messaging_events: MessagingEvents
) -> None:
    """The customer writes while ``order.applied`` is still on its way: the posts wait for it, none is lost."""
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()

    racing = [asyncio.create_task(me.post(order_id, f"message {n}")) for n in range(5)]
    await order_events.publish("order.applied", order_id, customer, status="applied")
    answers = await asyncio.gather(*racing)
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert {a.json()["state"] for a in answers} == {"posted"}

    messages = await me.messages_when(order_id, lambda ms: len(ms) == 5, "the 5 messages in the thread")
    assert sorted(m["body"] for m in messages) == sorted(f"message {n}" for n in range(5))
    await messaging_events.wait_for(lambda e: e.subject == order_id, "message.posted for a racing message")


def left_pending(order_id: str, author_id: str, written: datetime) -> Message:
    """A message as an earlier version stored it on an order it had not heard of."""
    return Message(
        id=str(uuid.uuid4()),
        order_id=order_id,
        author_role="customer",
        author_id=author_id,
        kind="message",
        body="Written before the order was known",
        data={},
        state="pending",
        created_at=written,
    )


async def test_messages_left_pending_by_an_earlier_version_are_settled_when_their_order_appears(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    owner, intruder = new_customer_id(), new_customer_id()
    order_id = new_order_id()
    now = datetime.now(UTC)
    mine, guess = left_pending(order_id, owner, now), left_pending(order_id, intruder, now)
    async with db_sessions["messaging"].begin() as session:
        session.add_all([mine, guess])

    await order_events.publish("order.applied", order_id, owner, status="applied")

    messages = await as_customer(owner).messages_when(order_id, lambda ms: bool(ms), "the owner's message posted")
    assert [m["id"] for m in messages] == [mine.id]
    async with db_sessions["messaging"]() as session:
        rejected = await session.get(Message, guess.id)
        assert rejected is not None and rejected.state == "rejected"
        assert rejected.rejected_reason == "not the order's customer"


async def test_messages_left_pending_whose_order_never_appears_expire(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]], tmp_path: Path
) -> None:
    order_id = new_order_id()
    stale = left_pending(order_id, new_customer_id(), datetime.now(UTC))
    async with db_sessions["messaging"].begin() as session:
        session.add(stale)
    settings = MessagingSettings(pending_message_ttl_hours=1)
    store = LocalAttachmentStore(tmp_path)

    later = datetime.now(UTC) + timedelta(hours=2)
    assert await expire_pending(db_sessions["messaging"], store, settings, now=later) >= 1

    async def state() -> str | None:
        async with db_sessions["messaging"]() as session:
            message = await session.get(Message, stale.id)
            return message.state if message is not None and message.state == "rejected" else None

    assert await eventually(state, what="stale pending message rejected") == "rejected"
