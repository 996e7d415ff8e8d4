"""A customer writes before the order's first event has reached messaging (see services.messaging.service)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.messaging.db import Attachment, Message, Outbox
from services.messaging.events import expire_pending
from services.messaging.settings import MessagingSettings
from services.messaging.storage import LocalAttachmentStore
from tests.services.messaging import images
from tests.services.messaging.conftest import (
    Client,
    MessagingEvents,
    OrderEvents,
    eventually,
    new_customer_id,
    new_order_id,
)

pytestmark = pytest.mark.stack


async def test_message_before_the_first_event_is_kept_pending_then_posted(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    as_staff: Client,
    messaging_events: MessagingEvents,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()

    early = await me.post(order_id, "I just ordered, please gift-wrap it.")
    assert early.status_code == 202, early.text
    assert early.json()["state"] == "pending"
    mine = (await me.thread(order_id)).json()
    assert [m["state"] for m in mine["messages"]] == ["pending"]
    assert (await as_staff.thread(order_id)).json()["messages"][0]["state"] == "pending"
    # No notification is queued for a message whose poster is not yet confirmed.
    async with db_sessions["messaging"]() as session:
        assert (await session.scalars(select(Outbox.id).where(Outbox.key == order_id))).first() is None

    await order_events.publish("order.applied", order_id, customer, status="applied")

    messages = await me.messages_when(
        order_id, lambda ms: bool(ms) and ms[0]["state"] == "posted", "pending message posted"
    )
    assert messages[0]["id"] == early.json()["id"]
    posted = await messaging_events.wait_for(lambda e: e.subject == order_id, "message.posted for the early message")
    assert posted.data["message_id"] == early.json()["id"] and posted.data["author_role"] == "customer"
    threads = (
        await as_staff.api.get("/v1/staff/threads?awaiting_reply=true&limit=200", headers=as_staff.headers)
    ).json()
    assert order_id in {t["order_id"] for t in threads["threads"]}


async def test_pending_message_on_someone_elses_order_is_discarded_and_never_shown(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client
) -> None:
    owner, intruder = new_customer_id(), new_customer_id()
    order_id = new_order_id()
    guess = await as_customer(intruder).post(order_id, "Is this order mine?")
    assert guess.status_code == 202
    mine = await as_customer(owner).post(order_id, "Please hurry")
    assert mine.status_code == 202
    # Until the order is known each poster sees only their own pending message.
    assert [m["id"] for m in (await as_customer(owner).thread(order_id)).json()["messages"]] == [mine.json()["id"]]

    await order_events.publish("order.applied", order_id, owner, status="applied")

    messages = await as_customer(owner).messages_when(
        order_id, lambda ms: any(m["state"] == "posted" for m in ms), "owner's message posted"
    )
    assert [m["id"] for m in messages] == [mine.json()["id"]]
    assert (await as_customer(intruder).thread(order_id)).status_code == 404
    staff_view = (await as_staff.thread(order_id)).json()["messages"]
    assert guess.json()["id"] not in {m["id"] for m in staff_view}


async def test_pending_message_written_after_the_window_shut_is_rejected(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    early = await as_customer(customer).post(
        order_id, "Hello?", files=[("photos", ("a.png", images.png(), "image/png"))]
    )
    assert early.status_code == 202
    key = early.json()["attachments"][0]["id"]
    closed_at = (datetime.now(UTC) - timedelta(days=120)).isoformat()
    await order_events.publish("order.completed", order_id, customer, status="completed", closed_at=closed_at)

    async def rejected() -> Message | None:
        async with db_sessions["messaging"]() as session:
            message = await session.get(Message, early.json()["id"])
            return message if message is not None and message.state == "rejected" else None

    message = await eventually(rejected, what="pending message rejected")
    assert message.rejected_reason == "message window closed when it was written"
    async with db_sessions["messaging"]() as session:
        assert (await session.scalars(select(Attachment).where(Attachment.id == key))).first() is None
    store_root = MessagingSettings().attachment_path
    assert not (store_root / key[:2] / key).exists()
    messages = (await as_customer(customer).thread(order_id)).json()["messages"]
    assert [m["kind"] for m in messages] == ["notice"]


async def test_pending_messages_whose_order_never_appears_expire(
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
    tmp_path: Path,
) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    assert (await as_customer(customer).post(order_id, "Anyone?")).status_code == 202
    settings = MessagingSettings(pending_message_ttl_hours=1)

    # Not yet stale: kept.
    await expire_pending(db_sessions["messaging"], LocalAttachmentStore(tmp_path), settings)
    assert (await as_customer(customer).thread(order_id)).status_code == 200

    later = datetime.now(UTC) + timedelta(hours=2)
    assert await expire_pending(db_sessions["messaging"], LocalAttachmentStore(tmp_path), settings, now=later) >= 1
    assert (await as_customer(customer).thread(order_id)).status_code == 404


async def test_messages_racing_the_first_event_all_end_up_posted(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    """Posts land before, during and after the first event is applied; the order lock leaves none pending."""
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()

    async def write(n: int) -> int:
        return (await me.post(order_id, f"message {n}")).status_code

    before = [await write(n) for n in range(3)]
    racing = [asyncio.create_task(write(n)) for n in range(3, 13)]
    await order_events.publish("order.applied", order_id, customer, status="applied")
    racing += [asyncio.create_task(write(n)) for n in range(13, 23)]
    statuses = before + list(await asyncio.gather(*racing))
    assert set(statuses) <= {201, 202} and statuses[:3] == [202, 202, 202]

    messages = await me.messages_when(
        order_id, lambda ms: len(ms) == 23 and all(m["state"] == "posted" for m in ms), "all 23 messages posted"
    )
    assert sorted(m["body"] for m in messages) == sorted(f"message {n}" for n in range(23))
