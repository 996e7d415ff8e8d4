"""Whole orders through the real stack (docs/operations.md): every service, Kafka, PostgreSQL, Temporal, nothing faked.

The customer pays into their deposit by bank transfer (pay-in report, staff
confirm), applies, pays each billing from the deposit (the workflow sends the
charge command, the deposits service charges its ledger and answers, the
orders bridge signals the workflow), receives the parcel and reports it. The
money is checked in the ledger, the customer's message history in messaging,
and the events on Kafka, at every step a customer or an auditor would look.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from daiko.events import DEPOSITS_EVENTS, MESSAGING_EVENTS, ORDERS_EVENTS
from tests.services.messaging import images
from tests.system.feed import EventFeed
from tests.system.portal import (
    Customer,
    Json,
    Portal,
    billing,
    forward_application,
    notice_types,
    purchase_application,
)

pytestmark = pytest.mark.stack

JST = timezone(timedelta(hours=9))


def item(view: Json, item_id: str) -> Json:
    return next(i for i in view["items"] if i["item_id"] == item_id)


def _item_is(item_id: str, status: str) -> Callable[[Json], bool]:
    return lambda view: bool(item(view, item_id)["status"] == status)


def _item_is_not(item_id: str, status: str) -> Callable[[Json], bool]:
    return lambda view: bool(item(view, item_id)["status"] != status)


def japan_time(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(JST).strftime("%d %b %Y %H:%M JST")


def balance(deposit: Json) -> tuple[int, int, int]:
    return deposit["balance"], deposit["held"], deposit["available"]


async def paid(portal: Portal, customer: Customer, order_id: str, seq: int) -> Json:
    """The customer pays billing ``seq``; returns the order once the real deposit has charged it."""
    assert (await customer.pay(order_id, seq))["status"] in ("charging", "paid")
    return await portal.wait_for(order_id, lambda v: billing(v, seq)["status"] != "charging", f"charge of {seq}")


async def test_a_two_time_purchase_order_runs_through_every_service_from_pay_in_to_completion(
    portal: Portal, event_feed: EventFeed
) -> None:
    alex = portal.customer()

    # R9: a bank transfer is credited when staff confirm the customer's payment report.
    assert balance(await alex.fund(20_000)) == (20_000, 0, 20_000)
    assert balance(await alex.deposit()) == (20_000, 0, 20_000)

    order_id = await alex.apply(purchase_application("two_time"))
    view = await portal.staff_op(
        order_id, "estimate", {"domestic_shipping": 800, "service_fee": 500}, done=lambda v: v["billings"] != []
    )
    first = billing(view, 1)
    assert (first["kind"], first["total"]) == ("first", 1000 + 2 * 2000 + 800 + 500)
    [pay] = [op for op in (await alex.view(order_id))["pending_operations"] if op["operation"] == "pay_billing"]
    assert (pay["billing_seq"], pay["amount"]) == (1, 6300)  # R2: the green button, with the amount

    view = await paid(portal, alex, order_id, 1)
    assert billing(view, 1)["status"] == "paid" and billing(view, 1)["paid_amount"] == 6300
    assert view["status"] == "purchasing"
    assert balance(await alex.deposit()) == (13_700, 0, 13_700)

    for item_id in ("1", "2"):
        await portal.staff_op(
            order_id,
            "item-purchased",
            {"item_id": item_id},
            done=_item_is_not(item_id, "requested"),
        )
    for item_id in ("1", "2"):
        view = await portal.staff_op(
            order_id,
            "item-arrived",
            {"item_id": item_id},
            done=_item_is(item_id, "arrived"),
        )
    assert view["status"] == "at_warehouse"

    view = await portal.staff_op(
        order_id,
        "issue-second-billing",
        {"international_shipping": 2400, "shipping_method": "EMS"},
        done=lambda v: len(v["billings"]) == 2,
    )
    assert (billing(view, 2)["kind"], billing(view, 2)["total"]) == ("second", 2400)  # R12
    view = await paid(portal, alex, order_id, 2)
    assert billing(view, 2)["status"] == "paid"
    assert view["status"] == "preparing_shipment"
    assert view["paid_total"] == 6300 + 2400
    assert balance(await alex.deposit()) == (11_300, 0, 11_300)

    tracking = ["EM123456789JP", "EM987654321JP"]
    view = await portal.staff_op(
        order_id,
        "ship",
        {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": tracking},
        done=lambda v: v["status"] == "shipped",
    )
    assert view["shipment"]["tracking_numbers"] == tracking
    view = await alex.report_reception(order_id, {"received_fine": True}, done=lambda v: v["status"] == "completed")
    assert view["status"] == "completed"  # R7, R10

    # The ledger: a pay-in and one charge per billing, each with the running balance.
    history = [
        (t["kind"], t["order_id"], t["billing_seq"], t["amount"], t["balance_after"]) for t in await alex.transactions()
    ]
    assert history == [
        ("charge", order_id, 2, 2400, 11_300),
        ("charge", order_id, 1, 6300, 13_700),
        ("bank_pay_in", None, None, 20_000, 20_000),
    ]
    audit = await portal.ledger_audit()
    assert audit["ok"], audit["mismatches"][:5]
    assert audit["debits_posted"] == audit["credits_posted"]

    # The message history: each system notice once, in the order things happened.
    notices = await alex.notices_when(order_id, lambda ns: "completed" in notice_types(ns), "completion notice")
    assert [n["notice_type"] for n in notices] == [
        "estimate_ready",
        "payment_received",
        "item_purchased",
        "item_purchased",
        "item_arrived",
        "item_arrived",
        "items_arrived",
        "second_billing_issued",
        "payment_received",
        "shipped",
        "completed",
    ]
    by_type = {n["notice_type"]: n["body"] for n in notices}
    assert "¥6,300" in by_type["estimate_ready"]
    assert f"by {japan_time(pay['due_at'])}" in by_type["estimate_ready"]  # R5: the customer is told until when
    assert [n["body"] for n in notices if n["notice_type"] == "payment_received"] == [
        "We have received your payment of ¥6,300. Thank you.",
        "We have received your payment of ¥2,400. Thank you.",
    ]
    assert "¥2,400" in by_type["second_billing_issued"]
    assert all(number in by_type["shipped"] for number in tracking)
    assert "Japan Post" in by_type["shipped"]

    # What other systems see on Kafka.
    order_events = await event_feed.until(
        order_id, ORDERS_EVENTS, lambda es: "order.completed" in {e.type for e in es}, "order.completed"
    )
    assert Counter(e.type for e in order_events) == Counter(
        {
            "order.applied": 1,
            "order.estimated": 1,
            "order.payment_requested": 2,
            "order.paid": 2,
            "order.item_updated": 4,
            "order.arrived": 1,
            "order.second_billing_issued": 1,
            "order.shipped": 1,
            "order.completed": 1,
        }
    )
    charged = await event_feed.until(
        order_id, DEPOSITS_EVENTS, lambda es: len(es) >= 2, "two deposit.charged", timeout=10
    )
    assert sorted((e.type, e.data["billing_seq"], e.data["amount"]) for e in charged) == [
        ("deposit.charged", 1, 6300),
        ("deposit.charged", 2, 2400),
    ]
    posted = await event_feed.until(
        order_id, MESSAGING_EVENTS, lambda es: len(es) >= len(notices), "message.posted per notice"
    )
    assert {e.type for e in posted} == {"message.posted"}
    assert sorted(e.data["notice_type"] for e in posted) == sorted(n["notice_type"] for n in notices)
    assert {e.data["customer_id"] for e in posted} == {alex.customer_id}


async def test_a_one_time_forward_order_with_a_problem_report_is_refunded_into_the_deposit(
    portal: Portal, event_feed: EventFeed
) -> None:
    sam = portal.customer()
    assert balance(await sam.fund(10_000)) == (10_000, 0, 10_000)

    order_id = await sam.apply(forward_application("one_time"))
    view = await portal.staff_op(
        order_id,
        "confirm-handling",
        {"service_fee": 500, "international_shipping": 2400},
        done=lambda v: v["billings"] != [],
    )
    assert (billing(view, 1)["kind"], billing(view, 1)["total"]) == ("single", 2900)  # R12: one billing

    view = await paid(portal, sam, order_id, 1)
    assert billing(view, 1)["status"] == "paid"
    assert view["status"] == "awaiting_arrival"
    assert balance(await sam.deposit()) == (7_100, 0, 7_100)

    view = await portal.staff_op(
        order_id, "item-arrived", {"item_id": "1"}, done=lambda v: item(v, "1")["status"] == "arrived"
    )
    assert view["status"] == "preparing_shipment"  # one-time plan: nothing more to pay
    await portal.staff_op(
        order_id,
        "ship",
        {"method": "SAL", "carrier": "Japan Post", "tracking_numbers": ["RR123456785JP"]},
        done=lambda v: v["status"] == "shipped",
    )

    # R8: a problem report opens a dispute; the customer describes it by message, with a photo.
    view = await sam.report_reception(
        order_id, {"problems": "the box was crushed"}, done=lambda v: v["status"] == "disputed"
    )
    assert view["status"] == "disputed"
    described = await portal.attempt(  # no Idempotency-Key on messages: a message is sent once, not retried
        "messaging",
        "POST",
        f"/v1/orders/{order_id}/messages",
        data={"body": "The lid of the box is crushed, see the photo."},
        files=[("photos", ("crushed.png", images.png(), "image/png"))],
        headers=sam.auth,
    )
    assert described is not None and described.status_code == 201, described and described.text
    assert len(described.json()["attachments"]) == 1

    view = await portal.staff_op(
        order_id,
        "resolve-dispute",
        {"refund_amount": 1000, "resolution": "the box was damaged in transit"},
        done=lambda v: v["status"] == "completed",
    )
    assert view["status"] == "completed"

    # The refund travels: workflow -> deposits (a real ledger transfer) -> the order hears it was refunded.
    view = await portal.wait_for(
        order_id, lambda v: [r["status"] for r in v["refunds"]] == ["refunded"], "refund reaching the deposit"
    )
    assert view["refunded_total"] == 1000
    assert balance(await sam.deposit()) == (8_100, 0, 8_100)
    history = [(t["kind"], t["order_id"], t["amount"], t["balance_after"]) for t in await sam.transactions()]
    assert history == [
        ("refund", order_id, 1000, 8_100),
        ("charge", order_id, 2900, 7_100),
        ("bank_pay_in", None, 10_000, 10_000),
    ]
    audit = await portal.ledger_audit()
    assert audit["ok"], audit["mismatches"][:5]

    notices = await sam.notices_when(order_id, lambda ns: "completed" in notice_types(ns), "completion notice")
    assert [n["notice_type"] for n in notices] == [
        "estimate_ready",
        "payment_received",
        "item_arrived",
        "items_arrived",
        "shipped",
        "dispute_opened",
        "completed",
    ]
    assert "RR123456785JP" in next(n["body"] for n in notices if n["notice_type"] == "shipped")
    customer_messages = [m for m in await sam.messages(order_id) if m["author_role"] == "customer"]
    assert [len(m["attachments"]) for m in customer_messages] == [1]

    order_events = await event_feed.until(
        order_id, ORDERS_EVENTS, lambda es: "order.completed" in {e.type for e in es}, "order.completed"
    )
    assert [e.type for e in order_events].count("order.disputed") == 1
    assert [e.data.get("completed_by") for e in order_events if e.type == "order.completed"] == ["dispute_resolution"]
    money = await event_feed.until(
        order_id, DEPOSITS_EVENTS, lambda es: "deposit.refunded" in {e.type for e in es}, "deposit.refunded"
    )
    assert sorted((e.type, e.data["amount"]) for e in money) == [("deposit.charged", 2900), ("deposit.refunded", 1000)]
    posted = await event_feed.until(
        order_id, MESSAGING_EVENTS, lambda es: len(es) >= len(notices) + 1, "message.posted per message"
    )
    authors = Counter(e.data["author_role"] for e in posted)
    assert authors == Counter({"system": len(notices), "customer": 1})
    assert [e.data["attachment_count"] for e in posted if e.data["author_role"] == "customer"] == [1]
