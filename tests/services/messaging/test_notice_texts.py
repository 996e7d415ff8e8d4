"""Every notice, read as the customer will read it: both services, both plans, every cancel reason and outcome.

Pure: the notice-building functions are called directly with contract models
made from ``tests.contracts.examples``, no stack. One table lists each notice a
(service, plan) order can give with its whole text, word for word (every cancel
reason, every completion and dispute outcome, moved deadlines, discarded items,
staff's words to the customer); every row is also
held to the rules all notices share (amounts in yen with thousands separators,
dates in Japan time with the zone, no internal codes, nothing about buying on
a forward order, nothing about forwarding on a purchase order, no 2nd billing
on the one-time plan). The same rules then hold for every order event the
real workflow sent in the committed histories (``tests/workflows/histories``),
folded as the consumer folds them, so the table cannot drift from the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    """One notice: the event as the workflow sends it for this service and plan, and the whole text it must read."""

    service: str
    plan: str
    event_type: str
    fields: dict[str, Any]
    text: str

    @property
    def id(self) -> str:
        keys = ("reason", "completed_by", "item_status", "deadline", "contact", "billing_seq", "refund_amount")
        details = [f"{key}={self.fields[key]}" for key in keys if self.fields.get(key) is not None]
        said = ["staff_message"] if self.fields.get("staff_message") else []
        return "-".join((self.service, self.plan, self.event_type, *details, *said))


PREVIOUS = DUE + timedelta(days=2)  # a deadline staff moved earlier, to examples.DUE
PREVIOUS_WORDS = "05 Dec 2026 10:00 JST"
STAFF_SAYS = "We are sorry for the wait"  # typed without a full stop: the notice ends it as a sentence


def order_rows(service: str, plan: str) -> list[Row]:
    """Each notice one order of this service and plan can give, from estimate to its end, word for word."""
    purchase, two_time = service == "purchase", plan == "two_time"
    b1 = first_billing(service, plan)
    total = b1["total"]
    total_words = f"¥{total:,}"
    rows: list[Row] = []

    def add(event_type: str, text: str, **fields: Any) -> None:
        rows.append(Row(service, plan, event_type, fields, text))

    lines = "; ".join(f"{x['description']}: ¥{x['amount']:,}" for x in b1["lines"]) + f". Total to pay: {total_words}."
    scope = {
        ("purchase", "one_time"): "This single billing covers everything: the items, domestic and international "
        "shipping and our fees.",
        ("purchase", "two_time"): "This 1st billing covers the items, domestic shipping and our fees; international "
        "shipping is billed in a 2nd billing once your items are at our warehouse.",
        ("forward", "one_time"): "This single billing covers everything: our fees and the international shipping.",
        ("forward", "two_time"): "This 1st billing covers our fees; international shipping is billed in a 2nd "
        "billing once your items are at our warehouse.",
    }[service, plan]
    pay = f"Please pay it from your deposit by {DUE_WORDS}. If it is not paid by then, the order will be canceled " + (
        "automatically."
    )
    head = (
        "The estimate of your order is ready."
        if purchase
        else "We have checked your items: we can forward them. Your billing is ready."
    )
    add(
        "order.estimated",
        f"{head} {lines} {scope} {pay}",
        status="awaiting_payment",
        billing=b1,
        due_at=DUE.isoformat(),
        contact="estimate" if purchase else "handling_availability",
        re_estimate=False,
    )
    revised = "estimate" if purchase else "billing"
    add(
        "order.estimated",
        f"We have amended the items of your order as agreed and revised the {revised}. {lines} {scope} {pay}",
        status="awaiting_payment",
        billing=first_billing(service, plan, revision=2),
        due_at=DUE.isoformat(),
        contact="amendment",
        re_estimate=True,
    )
    add(
        "order.item_updated",
        "As agreed, we have amended Figure B in your order: the quantity is now 3. A revised billing follows.",
        status="awaiting_payment",
        item_id="1",
        name="Figure B",
        item_status="requested",
        quantity=3,
    )
    add(
        "order.item_updated",
        "As agreed, we have removed Figure B from your order. A revised billing follows.",
        status="awaiting_payment",
        item_id="1",
        name="Figure B",
        item_status="canceled",
        quantity=2,
    )
    add(
        "order.deadline_reminder",
        f"Reminder: please pay your billing by {DUE_WORDS}. Otherwise the order will be canceled automatically.",
        status="awaiting_payment",
        deadline="payment",
        rule="R5",
        due_at=DUE.isoformat(),
        consequence="the order will be canceled",
        billing_seq=1,
        amount=total,
    )
    add(
        "order.deadline_moved",
        f"We have moved the payment deadline of your billing to {DUE_WORDS} (previously {PREVIOUS_WORDS}). "
        "If it is not paid by then, the order will be canceled automatically.",
        status="awaiting_payment",
        deadline="payment",
        due_at=DUE.isoformat(),
        previous_due_at=PREVIOUS.isoformat(),
        billing_seq=1,
    )
    estimate_later = (
        f"We need more time to prepare your estimate: we will send it by {DUE_WORDS} (previously {PREVIOUS_WORDS}). "
        "If we have not sent it by then, the order will be canceled automatically."
        if purchase
        else f"We need more time to check your items: we will tell you whether we can forward them by {DUE_WORDS} "
        f"(previously {PREVIOUS_WORDS}). If we have not told you by then, the order will be canceled automatically."
    )
    add(
        "order.deadline_moved",
        f"{estimate_later} Message from our staff: {STAFF_SAYS}.",
        status="applied",
        deadline="estimate",
        due_at=DUE.isoformat(),
        previous_due_at=PREVIOUS.isoformat(),
        billing_seq=None,
        staff_message=STAFF_SAYS,
    )
    after_payment = "purchasing" if purchase else "awaiting_arrival"
    add(
        "order.paid",
        f"We have received your payment of {total_words}. Thank you.",
        status=after_payment,
        billing_seq=1,
        amount=total,
    )
    if purchase:
        add(
            "order.item_updated",
            "We have purchased Figure B.",
            status="purchasing",
            item_id="1",
            name="Figure B",
            item_status="purchased",
        )
        add(
            "order.item_updated",
            "Unfortunately we could not buy Red cup: it is sold out or no longer available. ¥4,500 has been "
            "refunded to your deposit for it.",
            status="purchasing",
            item_id="2",
            name="Red cup",
            item_status="unavailable",
            refund_amount=4500,
        )
    else:
        add(
            "order.deadline_reminder",
            "Reminder: your items have not arrived at our warehouse yet. If they do not arrive by "
            f"{DUE_WORDS}, the order will be canceled automatically and anything paid will be refunded to your "
            "deposit.",
            status="awaiting_arrival",
            deadline="arrival",
            rule="R6",
            due_at=DUE.isoformat(),
            consequence="the order will be canceled",
            billing_seq=None,
            amount=None,
        )
        add(
            "order.deadline_moved",
            f"We have moved the deadline for your items to arrive at our warehouse to {DUE_WORDS} (previously "
            f"{PREVIOUS_WORDS}). If they have not arrived by then, the order will be canceled automatically and "
            "anything paid will be refunded to your deposit.",
            status="awaiting_arrival",
            deadline="arrival",
            due_at=DUE.isoformat(),
            previous_due_at=PREVIOUS.isoformat(),
        )
        add(
            "order.item_updated",
            "Unfortunately we cannot forward Red cup: it will not be part of your shipment.",
            status="awaiting_arrival",
            item_id="2",
            name="Red cup",
            item_status="unavailable",
            refund_amount=0,
        )
        add(
            "order.item_updated",
            "Unfortunately we cannot forward Red cup: it will not be part of your shipment. ¥500 has been refunded "
            "to your deposit for it. Message from our staff: Lithium batteries cannot travel by air.",
            status="awaiting_arrival",
            item_id="2",
            name="Red cup",
            item_status="unavailable",
            refund_amount=500,
            staff_message="Lithium batteries cannot travel by air.",
        )
    add(
        "order.item_updated",
        "Figure B has arrived at our warehouse.",
        status=after_payment,
        item_id="1",
        name="Figure B",
        item_status="arrived",
    )
    abandoned = "your items will be abandoned (discarded) and amounts already paid will not be refunded."
    if two_time:
        add(
            "order.arrived",
            "All your items have arrived at our warehouse. We will now pack them and send you the 2nd billing "
            f"(international shipping and extras). It must be paid by {ABANDON_WORDS}; otherwise your items will be "
            "abandoned (discarded).",
            status="at_warehouse",
            abandon_due_at=ABANDON_AT.isoformat(),
        )
        add(
            "order.deadline_reminder",
            f"Reminder: the 2nd billing is due by {ABANDON_WORDS}. Otherwise {abandoned}",
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
            "The billing for your 2nd payment (international shipping and extras) has been issued. International "
            f"shipping (EMS): ¥3,400. Total to pay: ¥3,400. Please pay it from your deposit by {ABANDON_WORDS}. "
            f"If it is not paid by then, {abandoned}",
            status="awaiting_second_payment",
            billing=SECOND_BILLING,
            due_at=ABANDON_AT.isoformat(),
        )
        add(
            "order.deadline_reminder",
            f"Reminder: please pay the 2nd billing by {ABANDON_WORDS}. Otherwise {abandoned} The amount to pay is "
            "¥3,400.",
            status="awaiting_second_payment",
            deadline="abandonment",
            rule="R11",
            due_at=ABANDON_AT.isoformat(),
            consequence="the items will be abandoned",
            billing_seq=2,
            amount=3400,
        )
        add(
            "order.deadline_moved",
            f"We have moved the payment deadline of the 2nd billing to {ABANDON_WORDS} (previously "
            f"{PREVIOUS_WORDS}). If it is not paid by then, {abandoned}",
            status="awaiting_second_payment",
            deadline="abandonment",
            due_at=ABANDON_AT.isoformat(),
            previous_due_at=PREVIOUS.isoformat(),
            billing_seq=2,
        )
        add(
            "order.paid",
            "We have received your payment of ¥3,400. Thank you.",
            status="preparing_shipment",
            billing_seq=2,
            amount=3400,
        )
        add(
            "order.abandoned",
            "The 2nd billing of ¥3,400 was not paid by the deadline, so your items have been abandoned (discarded). "
            "Amounts already paid are not refunded.",
            status="abandoned",
            unpaid_amount=3400,
        )
        add(
            "order.item_updated",
            "Figure B has been discarded at our warehouse, as your order was abandoned.",
            status="abandoned",
            item_id="1",
            name="Figure B",
            item_status="discarded",
        )
    else:
        add(
            "order.arrived",
            "All your items have arrived at our warehouse. We will now pack them and ship them to you.",
            status="preparing_shipment",
        )
    completes = (
        "When they arrive, please send us a Reception Report from the order details page. Without one, the order "
        f"will be completed automatically on {COMPLETES_WORDS}."
    )
    add(
        "order.shipped",
        f"Your items have been shipped (Japan Post, EMS). Tracking numbers: EJ1JP, EJ2JP. {completes}",
        status="shipped",
        method="EMS",
        carrier="Japan Post",
        tracking_numbers=["EJ1JP", "EJ2JP"],
        completes_at=COMPLETES_AT.isoformat(),
    )
    add(
        "order.deadline_moved",
        f"We have moved the date your order completes automatically to {COMPLETES_WORDS} (previously "
        f"{PREVIOUS_WORDS}). Please send us a Reception Report before then once your items arrive.",
        status="shipped",
        deadline="completion",
        due_at=COMPLETES_AT.isoformat(),
        previous_due_at=PREVIOUS.isoformat(),
    )
    add(
        "order.disputed",
        "We have received your problem report. You wrote: The box was crushed. Please tell us the details of the "
        "problem by message and attach photos that show the condition of any defective items. We will check and "
        "contact you as soon as possible.",
        status="disputed",
        description="The box was crushed",
    )

    # Every way an order completes (R7, R8), and the outcome of a dispute with its refund.
    window = f"You can still send us a message about this order for {WINDOW_DAYS} days."
    add(
        "order.completed",
        f"Thank you for your Reception Report: we are glad your items arrived safely. Your order is complete. {window}",
        completed_by="reception_report",
    )
    add(
        "order.completed",
        "Your order has been completed automatically, as no Reception Report was received within the set period "
        f"after shipment. {window}",
        completed_by="no_reception_report",
    )
    add(
        "order.completed",
        "We have resolved the problem you reported: ¥5,000 has been refunded to your deposit. Your order is now "
        f"complete. {window} Message from our staff: The figure's box was damaged in transit; we are sorry.",
        completed_by="dispute_resolution",
        refund_amount=5000,
        staff_message="The figure's box was damaged in transit; we are sorry.",
    )
    add(
        "order.completed",
        f"We have resolved the problem you reported, with no refund. Your order is now complete. {window}",
        completed_by="dispute_resolution",
        refund_amount=0,
    )

    # Every cancel reason this service can have (R4, R5, R6, R10), with and without money to give back.
    refunded = f"Everything you paid, {total_words}, has been refunded to your deposit."
    nothing = "There was no payment to refund."
    add(
        "order.canceled",
        f"Your order has been canceled as you requested. {nothing}",
        reason="customer_request",
        detail="changed my mind",
        refund_amount=0,
    )
    late = (
        "we could not send you its estimate in time"
        if purchase
        else "we could not confirm in time whether we can forward your items"
    )
    add(
        "order.canceled",
        f"We are sorry: your order has been canceled automatically because {late}. {nothing}",
        status="canceled",
        reason="estimate_timeout",
        detail="no estimate in time",
        refund_amount=0,
    )
    add(
        "order.canceled",
        f"Your order has been canceled automatically because payment was not received by the deadline. {nothing}",
        reason="payment_timeout",
        detail="not paid in time (R5)",
        refund_amount=0,
    )
    if not purchase:
        add(
            "order.canceled",
            "Your order has been canceled automatically because your items did not arrive at our warehouse in "
            f"time. {refunded}",
            reason="arrival_timeout",
            detail="the items did not arrive in time (R6)",
            refund_amount=total,
        )
    unable = (
        "We are sorry: we are unable to purchase your items, so your order has been canceled."
        if purchase
        else "We are sorry: we are unable to forward your items, so your order has been canceled."
    )
    for refund, money in ((total, refunded), (0, nothing)):
        add(
            "order.canceled",
            f"{unable} Reason: The seller no longer ships within Japan. {money}",
            reason="unavailable",
            detail="The seller no longer ships within Japan",
            refund_amount=refund,
        )
        add(
            "order.canceled",
            f"We are sorry: we have had to cancel your order. Reason: Duplicate of order P261126-AAAA. {money}",
            reason="staff",
            detail="Duplicate of order P261126-AAAA.",
            refund_amount=refund,
        )
    add(
        "order.canceled",
        f"We are sorry: we have had to cancel your order. Reason: Duplicate of order P261126-AAAA. {refunded} "
        "Message from our staff: Your other order P261126-AAAA has the same items and goes ahead.",
        reason="staff",
        detail="Duplicate of order P261126-AAAA.",
        refund_amount=total,
        staff_message="Your other order P261126-AAAA has the same items and goes ahead",
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

    assert text == row.text
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
