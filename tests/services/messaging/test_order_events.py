"""System notices from order events put on the real ``daiko.orders.events.v1`` topic, applied by the stack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.messaging.db import DeadLetter, Message
from tests.contracts.examples import billing
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
    first_billing = {"billing": billing(total=12800), "due_at": due(7)}
    second_billing = {"billing": billing(seq=2, total=3400), "due_at": due(30)}
    item = {"item_id": "1", "name": "Blue mug"}
    shipment = {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EJ1JP", "EJ2JP"]}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("order.applied", "applied", {}),
        ("order.estimated", "awaiting_payment", first_billing),
        ("order.deadline_reminder", "awaiting_payment", {"deadline": "payment", "due_at": due(2)}),
        ("order.paid", "purchasing", {"billing_seq": 1, "amount": 12800}),
        ("order.item_updated", "purchasing", {**item, "item_status": "purchased"}),
        ("order.item_updated", "purchasing", {"item_id": "2", "name": "Red cup", "item_status": "unavailable"}),
        ("order.arrived", "at_warehouse", {"abandon_due_at": due(30)}),
        ("order.second_billing_issued", "awaiting_second_payment", second_billing),
        ("order.paid", "preparing_shipment", {"billing_seq": 2, "amount": 3400}),
        ("order.shipped", "shipped", shipment),
        ("order.disputed", "disputed", {}),
        ("order.completed", "completed", {"completed_by": "dispute_resolution", "refund_amount": 0}),
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
    assert thread["order_status"] == "completed"
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
    paid = order_events.envelope("order.paid", order_id, customer, billing_seq=1, amount=900)
    await order_events.send(paid)
    await order_events.send(paid)  # at-least-once delivery: the same event id again
    await order_events.publish("order.arrived", order_id, customer)  # a marker after both

    notices = await as_customer(customer).notices_when(order_id, 2)
    assert [n["notice_type"] for n in notices] == ["payment_received", "items_arrived"]
    async with db_sessions["messaging"]() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.source_event_id == paid.id)
        )
    assert count == 1


async def test_events_breaking_the_contract_are_dead_lettered_with_the_reason_and_hold_nothing_up(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, customer)
    valid = order_events.envelope("order.shipped", order_id, customer)
    broken = [
        valid.model_copy(update={"type": "order.gift_wrapped"}),  # a type no contract names
        valid.model_copy(update={"id": new_order_id(), "data": {**valid.data, "shipment": "not-an-object"}}),
        valid.model_copy(update={"id": new_order_id(), "data": {**valid.data, "status": "wrapping"}}),
        valid.model_copy(update={"id": new_order_id(), "data": {**valid.data, "order_id": "o" * 150}}),
        valid.model_copy(update={"id": new_order_id(), "data": {**valid.data, "carrier": None}}),
    ]
    for envelope in broken:
        await order_events.send(envelope)
    await order_events.publish("order.arrived", order_id, customer, status="preparing_shipment")
    await me.status_when(order_id, "preparing_shipment")  # the valid event behind them was applied

    async def parked() -> dict[str, str] | None:
        async with db_sessions["messaging"]() as session:
            rows = (
                await session.execute(
                    select(DeadLetter.event_id, DeadLetter.error).where(DeadLetter.event_id.in_([e.id for e in broken]))
                )
            ).all()
        return {row.event_id: row.error for row in rows} if len(rows) == len(broken) else None

    errors = await eventually(parked, what="every broken event dead-lettered")
    reasons = [errors[e.id] for e in broken]
    assert "'order.gift_wrapped' is not a type of daiko.orders.events.v1" in reasons[0]
    assert "shipment: Extra inputs are not permitted" in reasons[1]
    assert "status: Input should be" in reasons[2]
    assert "order_id: String should have at most 100 characters" in reasons[3]
    assert "carrier: Input should be a valid string" in reasons[4]
    assert [n["notice_type"] for n in await me.notices_when(order_id, 1)] == ["items_arrived"]


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
        reason="payment_timeout",
        closed_at=closed_at.isoformat(),
    )
    thread = await me.status_when(order_id, "canceled")
    assert datetime.fromisoformat(thread["closed_at"]) == closed_at
    assert "canceled automatically" in thread["messages"][-1]["body"]


async def test_abandonment_notice_is_shown(order_events: OrderEvents, as_customer: Callable[[str], Client]) -> None:
    customer = new_customer_id()
    order_id = new_order_id()
    await order_events.publish("order.abandoned", order_id, customer)
    notices = await as_customer(customer).notices_when(order_id, 1)
    assert notices[0]["notice_type"] == "abandoned" and "discarded" in notices[0]["body"]

    async def closed() -> bool:
        return (await as_customer(customer).thread(order_id)).json()["closed_at"] is not None

    await eventually(closed, what="abandoned order closed")


FEE_LINE = {"kind": "service_fee", "description": "Service fee", "amount": 12800, "item_id": None}


@pytest.mark.parametrize(
    ("service", "estimate", "words"),
    [
        (
            "forward",
            {"billing": billing(total=12800, lines=[FEE_LINE]), "contact": "handling_availability"},
            "unable to forward your items",
        ),
        ("purchase", {"billing": billing(total=12800), "contact": "estimate"}, "unable to purchase your items"),
    ],
)
async def test_the_thread_learns_the_service_so_a_later_cancel_is_worded_for_it(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    service: str,
    estimate: dict[str, Any],
    words: str,
) -> None:
    """An order.applied from before the event named the service (still on the topic): the estimate shows it,
    and the cannot-handle cancel that follows is worded for that service, with its reason and the refund."""
    customer = new_customer_id()
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, customer, payment_plan="two_time")
    await order_events.publish("order.estimated", order_id, customer, due_at=due(7), **estimate)
    await order_events.publish(
        "order.canceled",
        order_id,
        customer,
        reason="unavailable",
        detail="The seller does not ship within Japan",
        refund_amount=12800,
    )
    notices = await as_customer(customer).notices_when(order_id, 2)
    thread = (await as_customer(customer).thread(order_id)).json()
    assert thread["service_type"] == service
    assert words in notices[-1]["body"]
    assert "Reason: The seller does not ship within Japan." in notices[-1]["body"]
    assert "¥12,800, has been refunded to your deposit" in notices[-1]["body"]


@pytest.mark.parametrize(
    ("service", "words"),
    [
        ("forward", "we could not confirm in time whether we can forward your items"),
        ("purchase", "we could not send you its estimate in time"),
    ],
)
async def test_the_thread_takes_the_service_from_order_applied_and_words_an_estimate_timeout_for_it(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client, service: str, words: str
) -> None:
    """Before, every thread's service_type was null: order.applied now names it, before any estimate shows it."""
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, customer, service_type=service)
    thread = await me.status_when(order_id, "applied")
    assert thread["service_type"] == service
    staff_rows = (await as_staff.api.get("/v1/staff/threads?limit=200", headers=as_staff.headers)).json()
    assert all(row["service_type"] == service for row in staff_rows["threads"] if row["order_id"] == order_id)

    await order_events.publish("order.canceled", order_id, customer, reason="estimate_timeout", detail="R-estimate")
    notices = await me.notices_when(order_id, 1)
    assert notices[-1]["body"] == (
        f"We are sorry: your order has been canceled automatically because {words}. There was no payment to refund."
    )


async def test_a_closing_notice_carries_the_time_the_order_closed_and_others_none(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    """Before, notices' closed_at was never filled: a notice of the event that closed the order names its time."""
    customer = new_customer_id()
    order_id = new_order_id()
    shipped_at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    closed_at = shipped_at + timedelta(days=3)
    await order_events.publish("order.shipped", order_id, customer, time=shipped_at)
    await order_events.publish(
        "order.completed", order_id, customer, completed_by="no_reception_report", closed_at=closed_at.isoformat()
    )
    notices = await as_customer(customer).notices_when(order_id, 2)
    assert [n["notice_type"] for n in notices] == ["shipped", "completed"]
    assert "closed_at" not in notices[0]["data"]
    assert datetime.fromisoformat(notices[1]["data"]["closed_at"]) == closed_at
    assert datetime.fromisoformat(notices[1]["created_at"]) == closed_at


async def test_a_notice_sits_at_its_events_time_even_when_consumed_after_a_later_message(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client
) -> None:
    """The dispute's "please send photos" notice arrived after the photos it asked for: the thread now reads in
    the order things happened (the event's time), for the customer and for staff, and pages in that order."""
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    await order_events.publish("order.shipped", order_id, customer)
    await me.status_when(order_id, "shipped")
    disputed_at = datetime.now(UTC)

    photos = await me.post(order_id, "Here are the photos of the crushed box.")
    assert photos.status_code == 201, photos.text
    # The event was raised before the customer wrote, but reaches messaging only now.
    await order_events.publish("order.disputed", order_id, customer, time=disputed_at, description="Box crushed")

    expected = ["shipped", "dispute_opened", "message"]
    for side in (me, as_staff):
        messages = await side.messages_when(order_id, lambda ms: len(ms) == 3, "the dispute notice")
        assert [m["notice_type"] or m["kind"] for m in messages] == expected
        assert datetime.fromisoformat(messages[1]["created_at"]) == disputed_at
    first_page = (await me.api.get(f"/v1/orders/{order_id}/messages?limit=2", headers=me.headers)).json()
    assert [m["notice_type"] for m in first_page["messages"]] == ["shipped", "dispute_opened"]
    after = first_page["next_after"]
    rest = (await me.api.get(f"/v1/orders/{order_id}/messages?after={after}", headers=me.headers)).json()
    assert [m["kind"] for m in rest["messages"]] == ["message"] and rest["next_after"] is None
