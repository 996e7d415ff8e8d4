"""Every notice, read as the customer will read it: both services, both plans, every cancel reason and outcome.

Pure: the notice-building functions are called directly with contract models
made from ``tests.contracts.examples``, no stack. One table lists each notice a
(service, plan) order can give with the words it must say; every row is also
held to the rules all notices share (amounts in yen with thousands separators,
dates in Japan time with the zone, no internal codes, nothing about buying on
a forward order, nothing about forwarding on a purchase order, no 2nd billing
on the one-time plan). The same rules then hold for every order event the
real workflow sent in the committed histories (``tests/workflows/histories``),
folded as the consumer folds them, so the table cannot drift from the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product
from typing import Any

import pytest

from contracts import orders as events
from contracts.topics import ORDERS_EVENTS
from services.messaging.domain import OrderState, next_order_state, order_facts, service_shown_by
from services.messaging.notices import notice_of, read_order_event
from tests.contracts.examples import DUE, billing, order_event
from tests.contracts.wire_examples import recorded_messages

SERVICES = ("purchase", "forward")
PLANS = ("one_time", "two_time")
WINDOW_DAYS = 90

DUE_WORDS = "03 Dec 2026 10:00 JST"  # examples.DUE, 01:00 UTC, as the customer sees it
ABANDON_AT = DUE + timedelta(days=30)
ABANDON_WORDS = "02 Jan 2027 10:00 JST"
COMPLETES_AT = DUE + timedelta(days=50)
COMPLETES_WORDS = "22 Jan 2027 10:00 JST"


def line(kind: str, description: str, amount: int, item_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "description": description, "amount": amount, "item_id": item_id}


def first_billing_lines(service: str, plan: str) -> list[dict[str, Any]]:
    """Billing 1 as the workflow builds it (R12): items and domestic shipping only on purchase orders,
    international shipping only on the one-time plan."""
    lines = []
    if service == "purchase":
        lines += [line("item", "Figure B x 2", 12300, "1"), line("domestic_shipping", "Domestic shipping", 800)]
    lines.append(line("service_fee", "Service fee", 1500))
    if plan == "one_time":
        lines.append(line("international_shipping", "International shipping", 2400))
    return lines


def first_billing(service: str, plan: str, revision: int = 1) -> dict[str, Any]:
    lines = first_billing_lines(service, plan)
    kind = "single" if plan == "one_time" else "first"
    return billing(seq=1, revision=revision, total=sum(x["amount"] for x in lines), kind=kind, lines=lines)


SECOND_BILLING = billing(
    seq=2, total=3400, lines=[line("international_shipping", "International shipping (EMS)", 3400)]
)


@dataclass(frozen=True)
class Row:
    """One notice: the event as the workflow sends it for this service and plan, and what the notice must say."""

    service: str
    plan: str
    event_type: str
    fields: dict[str, Any]
    says: tuple[str, ...]
    never: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        keys = ("reason", "completed_by", "item_status", "deadline", "contact", "billing_seq", "refund_amount")
        details = [f"{key}={self.fields[key]}" for key in keys if self.fields.get(key) is not None]
        return "-".join((self.service, self.plan, self.event_type, *details))


def order_rows(service: str, plan: str) -> list[Row]:
    """Each notice one order of this service and plan can give, from estimate to its end."""
    purchase, two_time = service == "purchase", plan == "two_time"
    b1 = first_billing(service, plan)
    total = b1["total"]
    total_words = f"¥{total:,}"
    rows: list[Row] = []

    def add(event_type: str, says: tuple[str, ...], never: tuple[str, ...] = (), **fields: Any) -> None:
        rows.append(Row(service, plan, event_type, fields, says, never))

    contact = "estimate" if purchase else "handling_availability"
    scope = ("2nd billing",) if two_time else ("single billing",)
    head = "estimate of your order is ready" if purchase else "we can forward them"
    add(
        "order.estimated",
        (head, total_words, DUE_WORDS, "canceled automatically", *scope),
        status="awaiting_payment",
        billing=b1,
        due_at=DUE.isoformat(),
        contact=contact,
        re_estimate=False,
    )
    add(
        "order.estimated",
        ("amended the items", f"¥{first_billing(service, plan, 2)['total']:,}", DUE_WORDS),
        status="awaiting_payment",
        billing=first_billing(service, plan, revision=2),
        due_at=DUE.isoformat(),
        contact="amendment",
        re_estimate=True,
    )
    add(
        "order.item_updated",
        ("amended Figure B", "quantity is now 3", "revised billing follows"),
        ("status of",),
        status="awaiting_payment",
        item_id="1",
        name="Figure B",
        item_status="requested",
        quantity=3,
    )
    add(
        "order.item_updated",
        ("removed Figure B from your order", "revised billing follows"),
        ("status of",),
        status="awaiting_payment",
        item_id="1",
        name="Figure B",
        item_status="canceled",
        quantity=2,
    )
    add(
        "order.deadline_reminder",
        ("Reminder: please pay your billing by", DUE_WORDS, "canceled automatically"),
        status="awaiting_payment",
        deadline="payment",
        rule="R5",
        due_at=DUE.isoformat(),
        consequence="the order will be canceled",
        billing_seq=1,
        amount=total,
    )
    after_payment = "purchasing" if purchase else "awaiting_arrival"
    add(
        "order.paid",
        (f"We have received your payment of {total_words}. Thank you.",),
        status=after_payment,
        billing_seq=1,
        amount=total,
    )
    if purchase:
        add(
            "order.item_updated",
            ("We have purchased Figure B.",),
            status="purchasing",
            item_id="1",
            name="Figure B",
            item_status="purchased",
        )
        add(
            "order.item_updated",
            ("could not buy Red cup", "sold out", "¥4,500 has been refunded to your deposit for it"),
            ("Nothing will be charged",),
            status="purchasing",
            item_id="2",
            name="Red cup",
            item_status="unavailable",
            refund_amount=4500,
        )
    else:
        add(
            "order.deadline_reminder",
            ("Reminder", "have not arrived", DUE_WORDS, "canceled automatically"),
            status="awaiting_arrival",
            deadline="arrival",
            rule="R6",
            due_at=DUE.isoformat(),
            consequence="the order will be canceled",
            billing_seq=None,
            amount=None,
        )
        add(
            "order.item_updated",
            ("Red cup did not arrive at our warehouse", "will not be forwarded"),
            ("Nothing will be charged",),
            status="awaiting_arrival",
            item_id="2",
            name="Red cup",
            item_status="unavailable",
            refund_amount=0,
        )
    add(
        "order.item_updated",
        ("Figure B has arrived at our warehouse.",),
        status=after_payment,
        item_id="1",
        name="Figure B",
        item_status="arrived",
    )
    if two_time:
        add(
            "order.arrived",
            ("All your items have arrived", "2nd billing", ABANDON_WORDS, "abandoned"),
            status="at_warehouse",
            abandon_due_at=ABANDON_AT.isoformat(),
        )
        add(
            "order.deadline_reminder",
            ("Reminder", "the 2nd billing is due by", ABANDON_WORDS, "abandoned (discarded)"),
            ("please pay",),
            status="at_warehouse",
            deadline="abandonment",
            rule="R11",
            due_at=ABANDON_AT.isoformat(),
            consequence="the items will be abandoned",
            billing_seq=None,
            amount=None,
        )
        add(
            "order.second_billing_issued",
            ("2nd payment", "International shipping (EMS): ¥3,400", ABANDON_WORDS, "abandoned (discarded)"),
            status="awaiting_second_payment",
            billing=SECOND_BILLING,
            due_at=ABANDON_AT.isoformat(),
        )
        add(
            "order.deadline_reminder",
            (
                "Reminder: please pay the 2nd billing by",
                ABANDON_WORDS,
                "abandoned (discarded)",
                "amount to pay is ¥3,400",
            ),
            status="awaiting_second_payment",
            deadline="abandonment",
            rule="R11",
            due_at=ABANDON_AT.isoformat(),
            consequence="the items will be abandoned",
            billing_seq=2,
            amount=3400,
        )
        add(
            "order.paid",
            ("We have received your payment of ¥3,400. Thank you.",),
            status="preparing_shipment",
            billing_seq=2,
            amount=3400,
        )
        add(
            "order.abandoned",
            ("2nd billing of ¥3,400 was not paid", "abandoned (discarded)", "not refunded"),
            status="abandoned",
            unpaid_amount=3400,
        )
    else:
        add(
            "order.arrived",
            ("All your items have arrived", "pack them and ship them"),
            status="preparing_shipment",
        )
    add(
        "order.shipped",
        ("Japan Post, EMS", "EJ1JP, EJ2JP", "Reception Report", COMPLETES_WORDS),
        status="shipped",
        method="EMS",
        carrier="Japan Post",
        tracking_numbers=["EJ1JP", "EJ2JP"],
        completes_at=COMPLETES_AT.isoformat(),
    )
    add(
        "order.disputed",
        ("problem report", "You wrote: The box was crushed.", "attach photos"),
        status="disputed",
        description="The box was crushed",
    )

    # Every way an order completes (R7, R8).
    window = f"for {WINDOW_DAYS} days"
    add("order.completed", ("Reception Report", "complete", window), completed_by="reception_report")
    add(
        "order.completed",
        ("completed automatically", "no Reception Report", window),
        completed_by="no_reception_report",
    )
    add(
        "order.completed",
        ("resolved the problem you reported", "¥5,000 has been refunded to your deposit", "complete", window),
        completed_by="dispute_resolution",
        refund_amount=5000,
    )
    add(
        "order.completed",
        ("resolved the problem you reported", "with no refund", "complete", window),
        ("refunded to your deposit",),
        completed_by="dispute_resolution",
        refund_amount=0,
    )

    # Every cancel reason this service can have (R4, R5, R6, R10), with and without money to give back.
    refunded = f"Everything you paid, {total_words}, has been refunded to your deposit."
    nothing = "There was no payment to refund."
    add(
        "order.canceled",
        ("canceled as you requested", nothing),
        ("changed my mind",),
        reason="customer_request",
        detail="changed my mind",
        refund_amount=0,
    )
    add(
        "order.canceled",
        ("canceled automatically", "payment was not received by the deadline", nothing),
        ("(R5)",),
        reason="payment_timeout",
        detail="not paid in time (R5)",
        refund_amount=0,
    )
    if not purchase:
        add(
            "order.canceled",
            ("canceled automatically", "did not arrive at our warehouse", refunded),
            ("(R6)",),
            reason="arrival_timeout",
            detail="the items did not arrive in time (R6)",
            refund_amount=total,
        )
    unable = "unable to purchase your items" if purchase else "unable to forward your items"
    for refund, money in ((total, refunded), (0, nothing)):
        add(
            "order.canceled",
            (unable, "Reason: The seller no longer ships within Japan.", money),
            reason="unavailable",
            detail="The seller no longer ships within Japan",
            refund_amount=refund,
        )
        add(
            "order.canceled",
            ("we have had to cancel your order", "Reason: Duplicate of order P261126-AAAA.", money),
            ("Reason: staff",),
            reason="staff",
            detail="Duplicate of order P261126-AAAA.",
            refund_amount=refund,
        )
    return rows


TABLE = [row for service, plan in product(SERVICES, PLANS) for row in order_rows(service, plan)]

# Internal codes a customer must never read: enum values, rule ids, ISO dates, yen without separators, None.
CODES = re.compile(r"\b[a-z]+_[a-z_]+\b|\bR\d{1,2}\b|\d{4}-\d{2}-\d{2}|¥\d{4,}|\bNone\b")
DATE = re.compile(r"\b\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}( [A-Z]+)?")
NOT_FOR = {
    "forward": ("purchase", "buy", "bought"),
    "purchase": ("forward",),
}


def known_service(service: str, plan: str) -> str | None:
    """The service messaging knows on the thread by the time later events come: what the estimate showed."""
    estimate = read_order_event(
        "order.estimated",
        order_event(
            "order.estimated",
            billing=first_billing(service, plan),
            contact="estimate" if service == "purchase" else "handling_availability",
        ),
    )
    return service_shown_by(estimate)


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
def test_every_notice_reads_right_for_its_service_plan_reason_and_outcome(row: Row) -> None:
    event = read_order_event(row.event_type, order_event(row.event_type, **row.fields))
    assert isinstance(event, events.OrderEvent)
    assert known_service(row.service, row.plan) == row.service  # what the thread learns from the estimate
    notice = notice_of(event, window_days=WINDOW_DAYS, service_type=row.service)
    assert notice is not None
    text = notice.body

    for words in row.says:
        assert words in text, f"{row.id}: {words!r} missing from {text!r}"
    for words in row.never:
        assert words not in text, f"{row.id}: {words!r} in {text!r}"
    assert not CODES.findall(text), f"{row.id}: internal codes {CODES.findall(text)} in {text!r}"
    for date in DATE.finditer(text):
        assert date.group(1) == " JST", f"{row.id}: a date without its zone in {text!r}"
    lowered = text.lower()
    for words in NOT_FOR[row.service]:
        assert words not in lowered, f"{row.id}: {words!r} on a {row.service} order: {text!r}"
    if row.plan == "one_time":
        assert "2nd" not in text and "abandon" not in text, f"{row.id}: two-time words on one-time: {text!r}"
    assert text == text.strip() and "  " not in text and ".." not in text


def recorded_orders() -> dict[str, list[events.OrderEvent]]:
    """The order events of each committed workflow history (``tests/workflows/histories``), in the order sent."""
    orders: dict[str, list[events.OrderEvent]] = {}
    for message in recorded_messages():
        if message.topic == ORDERS_EVENTS:
            orders.setdefault(message.history, []).append(read_order_event(message.type, message.data))
    return orders


RECORDED = recorded_orders()


@pytest.mark.parametrize("history", sorted(RECORDED))
def test_the_real_workflows_events_give_notices_worded_for_their_service(history: str) -> None:
    """What the order workflow really sent, folded as the consumer folds it: the service is learnt on the way
    and every notice after it reads for that service, with no codes, bare yen or zoneless dates."""
    state: OrderState | None = None
    learnt: list[str] = []
    for n, event in enumerate(RECORDED[history]):
        state = next_order_state(state, order_facts(event, DUE + timedelta(minutes=n)))
        notice = notice_of(event, window_days=WINDOW_DAYS, service_type=state.service_type)
        if notice is None:
            continue
        text = notice.body
        assert not CODES.findall(text), f"{history}: internal codes {CODES.findall(text)} in {text!r}"
        assert all(date.group(1) == " JST" for date in DATE.finditer(text)), text
        assert "Reason: staff" not in text and "status of" not in text
        if state.service_type is not None:
            learnt.append(state.service_type)
            for words in NOT_FOR[state.service_type]:
                assert words not in text.lower(), f"{history}: {words!r} on a {state.service_type} order: {text!r}"
    for service in SERVICES:  # an order canceled before its estimate never shows its service
        if history.startswith(service):
            assert set(learnt) <= {service}, f"{history}: learnt {set(learnt)}"


def test_the_service_is_learnt_for_every_recorded_order_that_was_estimated() -> None:
    for history, order in RECORDED.items():
        estimated = [e for e in order if isinstance(e, events.OrderEstimated)]
        if history.startswith(SERVICES) and estimated:
            assert service_shown_by(estimated[0]) == history.split("_")[0], history
