"""System notices from order events put on the real ``daiko.orders.events.v1`` topic, applied by the stack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.messaging.db import Message
from tests.services.messaging.conftest import (
    Client,
    MessagingEvents,
    OrderEvents,
    eventually,
    new_customer_id,
    new_order_id,
)

pytestmark = pytest.mark.stack


def due(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_a_whole_order_lifecycle_gives_one_notice_per_step_in_order(
    order_events: OrderEvents, as_customer: Callable[[str], Client], messaging_events: MessagingEvents
) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    first_billing = {"seq": 1, "revision": 1, "total": 12800, "due_at": due(7)}
    second_billing = {"seq": 2, "revision": 1, "total": 3400, "due_at": due(30)}
    steps = [
        ("order.applied", "applied", {}),
        ("order.estimated", "estimated", {"billing": first_billing}),
        ("order.deadline_reminder", "estimated", {"deadline": {"kind": "payment", "due_at": due(2)}}),
        ("order.paid", "paid", {"billing_seq": 1, "amount": 12800}),
        ("order.item_updated", "purchasing", {"item": {"item_id": "i1", "name": "Blue mug", "status": "purchased"}}),
        ("order.item_updated", "purchasing", {"item": {"item_id": "i2", "name": "Red cup", "status": "unavailable"}}),
        ("order.arrived", "arrived", {}),
        ("order.second_billing_issued", "awaiting_second_payment", {"billing": second_billing}),
        ("order.paid", "paid", {"billing_seq": 2, "amount": 3400}),
        (
            "order.shipped",
            "shipped",
            {"shipment": {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EJ1JP", "EJ2JP"]}},
        ),
        ("order.disputed", "disputed", {}),
        ("order.completed", "completed", {"closed_at": datetime.now(UTC).isoformat()}),
    ]
    for event_type, status, data in steps:
        await order_events.publish(event_type, order_id, customer, status=status, **data)

    notices = await as_customer(customer).notices_when(order_id, 11)
    assert [n["notice_type"] for n in notices] == [
        "estimate_ready",
        "deadline_reminder",
        "payment_received",
        "item_purchased",
        "item_unavailable",
        "items_arrived",
        "second_billing_issued",
        "payment_received",
        "shipped",
        "dispute_opened",
        "completed",
    ]
    assert all(n["author_role"] == "system" for n in notices)
    assert "¥12,800" in notices[0]["body"]
    assert notices[0]["data"]["billing"]["total"] == 12800
    assert "Reminder" in notices[1]["body"]
    assert "EJ1JP, EJ2JP" in notices[8]["body"]
    thread = (await as_customer(customer).thread(order_id)).json()
    assert thread["order_status"] == "completed" and thread["service_type"] == "purchase"
    assert thread["unread_count"] == 11

    # Each notice is announced for notification systems, keyed by the order.
    await messaging_events.wait_for(
        lambda e: e.subject == order_id and e.data.get("notice_type") == "completed", "completion announced"
    )
    announced = messaging_events.matching(lambda e: e.subject == order_id)
    assert all(e.type == "message.posted" and e.data["customer_id"] == customer for e in announced)


async def test_a_redelivered_event_gives_one_notice(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    paid = order_events.envelope("order.paid", order_id, customer, status="paid", billing_seq=1, amount=900)
    await order_events.send(paid)
    await order_events.send(paid)  # at-least-once delivery: the same event id again
    await order_events.publish("order.arrived", order_id, customer, status="arrived")  # a marker after both

    notices = await as_customer(customer).notices_when(order_id, 2)
    assert [n["notice_type"] for n in notices] == ["payment_received", "items_arrived"]
    async with db_sessions["messaging"]() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.source_event_id == paid.id)
        )
    assert count == 1


async def test_unknown_and_sparse_events_update_the_order_without_breaking_the_consumer(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, customer, status="applied")
    await order_events.publish("order.gift_wrapped", order_id, customer, status="wrapping")  # unknown type
    await me.status_when(order_id, "wrapping")

    # Events missing every optional field: no crash, a plainer notice.
    await order_events.publish("order.estimated", order_id, customer, status="estimated")
    await order_events.publish("order.shipped", order_id, customer, status="shipped", shipment="not-an-object")
    await order_events.publish("order.deadline_reminder", order_id, customer, status="shipped")
    # Values the database could not hold (NUL characters, oversized labels) are cleaned or dropped, not retried forever.
    await order_events.publish(
        "order.item_updated", order_id, customer, status="x" * 80, item={"name": "Mug\x00", "status": "purchased"}
    )
    await order_events.publish("order.paid", "o" * 150, customer, status="paid")  # an order id no column can hold
    await order_events.publish("order.arrived", order_id, customer, status="arrived")
    notices = await me.notices_when(order_id, 5)
    assert [n["notice_type"] for n in notices] == [
        "estimate_ready",
        "shipped",
        "deadline_reminder",
        "item_purchased",
        "items_arrived",
    ]
    assert notices[1]["body"].startswith("Your items have been shipped.")
    assert notices[3]["body"] == "We have purchased Mug."
    assert (await me.thread(order_id)).json()["order_status"] == "arrived"


async def test_an_automatic_cancel_closes_the_order_at_the_time_the_event_carries(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    closed_at = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
    await order_events.publish(
        "order.canceled",
        order_id,
        customer,
        status="canceled",
        reason="auto_unpaid_estimate",
        closed_at=closed_at.isoformat(),
    )
    thread = await me.status_when(order_id, "canceled")
    assert datetime.fromisoformat(thread["closed_at"]) == closed_at
    assert "canceled automatically" in thread["messages"][-1]["body"]


async def test_abandonment_notice_is_shown(order_events: OrderEvents, as_customer: Callable[[str], Client]) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    await order_events.publish("order.abandoned", order_id, customer, status="abandoned")
    notices = await as_customer(customer).notices_when(order_id, 1)
    assert notices[0]["notice_type"] == "abandoned" and "discarded" in notices[0]["body"]

    async def closed() -> bool:
        return (await as_customer(customer).thread(order_id)).json()["closed_at"] is not None

    await eventually(closed, what="abandoned order closed")
