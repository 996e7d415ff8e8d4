"""System notices: what the agency tells the customer in the message history when an order event happens.

Pure wording, no I/O. Each notice carries its text in the agency's words plus
the facts it was made from (``data``), so a frontend can render it its own way.
Events are read with their contract (``contracts.orders``), so every field a
sentence needs is there and typed: an optional one left out (a reminder with no
billing) only leaves its sentence out. An event type that tells the customer
nothing (``order.applied``, ``order.payment_requested``) gives no notice.

A purchase and a forward order are told different things (the agency buys
one's items, only receives the other's): the service is the one
``order.applied`` named, kept on the thread (``domain.service_shown_by`` infers
it from later events for orders applied before the event named it), and where
it is still unknown the notice says what is true of both. The payment plan
shows in the events themselves (the billing's kind, the 2nd billing, the
abandonment date). Amounts are yen with
thousands separators (``yen``), dates Japan time with the zone (``domain.when``).

What staff deliberately said to the customer with an operation (the event's
``staff_message``) ends the notice, after "Message from our staff:", and is in
``data.staff_message``. A notice of an event that closes the order (completed,
canceled, abandoned) has ``data.closed_at``: the event's time, when the
workflow closed it, from which R3's message window counts. ``order.staff_alert``
is for staff and the systems that page them: it never gives a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from contracts import orders as events
from contracts.topics import ORDERS_EVENTS, topic
from services.messaging.domain import FORWARD, PURCHASE, service_shown_by, when

ORDER_EVENTS = topic(ORDERS_EVENTS)


@dataclass(frozen=True)
class Notice:
    notice_type: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


def yen(amount: int | None) -> str | None:
    """Integer yen as the agency writes it."""
    return None if amount is None else f"¥{amount:,}"


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _sentence(text: str | None) -> str | None:
    """Free text staff or the customer typed, ended as one sentence (no doubled full stop)."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        return None
    return cleaned if cleaned.endswith((".", "!", "?")) else f"{cleaned}."


def _refund_sentence(amount: int) -> str:
    """R10: a cancellation gives back everything paid and not yet refunded; the customer is told how much."""
    if amount == 0:
        return "There was no payment to refund."
    return f"Everything you paid, {yen(amount)}, has been refunded to your deposit."


def _first_up(text: str) -> str:
    """A sentence that starts with an item's name ("an item" when an older event had none) starts upper-case."""
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- billings (R5, R11, R12)

BILLING_SCOPE: dict[tuple[str, str], str] = {
    # (billing kind, service): what billing 1 covers, so the customer knows whether a 2nd billing follows (R12)
    ("single", PURCHASE): (
        "This single billing covers everything: the items, domestic and international shipping and our fees."
    ),
    ("single", FORWARD): "This single billing covers everything: our fees and the international shipping.",
    ("first", PURCHASE): (
        "This 1st billing covers the items, domestic shipping and our fees; international shipping is billed in a "
        "2nd billing once your items are at our warehouse."
    ),
    ("first", FORWARD): (
        "This 1st billing covers our fees; international shipping is billed in a 2nd billing once your items are "
        "at our warehouse."
    ),
}


def _lines(billing: events.Billing) -> str:
    """Each line of a billing with its amount, then the total: what the customer sees on the order page."""
    lines = "; ".join(f"{line.description}: {yen(line.amount)}" for line in billing.lines)
    return f"{lines}. Total to pay: {yen(billing.total)}." if lines else f"Total to pay: {yen(billing.total)}."


def _pay_by(due_at: datetime | None) -> str:
    due = when(due_at)
    return f"Please pay it from your deposit by {due}." if due else "Please pay it from your deposit."


def _billing_data(event: events.OrderEstimated | events.OrderSecondBillingIssued) -> dict[str, Any]:
    return {"billing": event.billing.model_dump(mode="json"), "due_at": event.to_data()["due_at"]}


ESTIMATE_HEAD: dict[tuple[str, str], str] = {
    # (contact, service): how the 1st billing reaches the customer
    ("estimate", PURCHASE): "The estimate of your order is ready.",
    ("estimate", FORWARD): "We have revised the billing for forwarding your items.",
    ("handling_availability", FORWARD): "We have checked your items: we can forward them. Your billing is ready.",
    ("amendment", PURCHASE): "We have amended the items of your order as agreed and revised the estimate.",
    ("amendment", FORWARD): "We have amended the items of your order as agreed and revised the billing.",
}


def _estimated(event: events.OrderEstimated) -> Notice:
    """Billing 1 (R5): what it covers for this service and plan, line by line, and the date it cancels by."""
    service = service_shown_by(event) or ""  # a billing always shows it: item lines only on purchase orders
    head = ESTIMATE_HEAD.get((event.contact, service), "The estimate of your order is ready.")
    if event.contact == "estimate" and service == PURCHASE and event.re_estimate:
        head = "We have revised the estimate of your order."
    body = _join(
        head,
        _lines(event.billing),
        BILLING_SCOPE.get((event.billing.kind, service)),
        _pay_by(event.due_at),
        "If it is not paid by then, the order will be canceled automatically.",
    )
    return Notice("estimate_ready", body, _billing_data(event))


def _paid(event: events.OrderPaid) -> Notice:
    amount = yen(event.amount)
    body = f"We have received your payment of {amount}. Thank you." if amount else "We have received your payment."
    return Notice("payment_received", body, {"billing_seq": event.billing_seq, "amount": event.amount})


def _payment_rejected(event: events.OrderPaymentRejected) -> Notice:
    """The deposit could not pay: the customer must pay in before trying again (R9)."""
    short = yen(event.shortfall)
    body = _join(
        "We could not take your payment from your deposit.",
        f"Your deposit is {short} short." if short else None,
        "Please pay in to your deposit, then pay the billing again before its deadline.",
    )
    return Notice("payment_rejected", body, {"billing_seq": event.billing_seq, "shortfall": event.shortfall})


# ---------------------------------------------------------------- items (R4, R10)


def _item_updated(event: events.OrderItemUpdated, service: str | None) -> Notice:
    """One item changed: bought, not to be had, at the warehouse, or amended by staff as agreed by message (R4).

    An amendment's event says the item's quantity after it, not what it was
    nor whether its price changed, so the notice states the quantity now
    rather than claim what changed.
    """
    name, status = event.name or "an item", event.item_status
    service = service or service_shown_by(event)
    notice_type = f"item_{status}"
    if status == "purchased":
        body = f"We have purchased {name}."
    elif status == "unavailable":
        refund = (
            f"{yen(event.refund_amount)} has been refunded to your deposit for it." if event.refund_amount else None
        )
        body = _join(_unavailable_item(name, service), refund)
    elif status == "arrived":
        body = _first_up(f"{name} has arrived at our warehouse.")
    elif status == "canceled":
        body = _join(f"As agreed, we have removed {name} from your order.", _after_amendment(event.status))
    elif status == "discarded":  # only abandonment discards (R11); order.abandoned says why and what was unpaid
        body = _first_up(f"{name} has been discarded at our warehouse, as your order was abandoned.")
    else:  # requested again: staff amended the item
        notice_type = "item_amended"
        quantity = f": the quantity is now {event.quantity}" if event.quantity is not None else ""
        body = _join(f"As agreed, we have amended {name} in your order{quantity}.", _after_amendment(event.status))
    item = {"item_id": event.item_id, "name": event.name, "status": status, "quantity": event.quantity}
    data: dict[str, Any] = {"item": item}
    if event.refund_amount is not None:
        data["refund_amount"] = event.refund_amount
    return Notice(notice_type, body, data)


def _unavailable_item(name: str, service: str | None) -> str:
    if service == PURCHASE:
        return f"Unfortunately we could not buy {name}: it is sold out or no longer available."
    if service == FORWARD:
        return f"Unfortunately we cannot forward {name}: it will not be part of your shipment."
    return f"Unfortunately we cannot handle {name}: it will not be part of your order."


def _after_amendment(status: str) -> str | None:
    """An amendment before the estimate is priced in it; after the estimate a revised one follows (R4)."""
    if status == "awaiting_payment":
        return "A revised billing follows."
    if status == "applied":
        return "The billing will include this change."
    return None


def _arrived(event: events.OrderArrived) -> Notice:
    """All items are in: on the two-time plan the 2nd billing comes next, with the abandonment date (R11)."""
    two_time = event.abandon_due_at is not None or event.status == "at_warehouse"
    due = when(event.abandon_due_at)
    if two_time:
        body = _join(
            "All your items have arrived at our warehouse.",
            "We will now pack them and send you the 2nd billing (international shipping and extras).",
            f"It must be paid by {due}; otherwise your items will be abandoned (discarded)." if due else None,
        )
    else:
        body = "All your items have arrived at our warehouse. We will now pack them and ship them to you."
    return Notice("items_arrived", body, {"abandon_due_at": event.to_data().get("abandon_due_at")})


def _second_billing(event: events.OrderSecondBillingIssued) -> Notice:
    """Two-time plan, R12 and R11: the 2nd billing, line by line, and the date the items are abandoned by."""
    revised = event.billing.revision > 1
    head = (
        "We have revised the billing for your 2nd payment (international shipping and extras)."
        if revised
        else "The billing for your 2nd payment (international shipping and extras) has been issued."
    )
    tail = (
        "If it is not paid by then, your items will be abandoned (discarded) and amounts already paid will not be "
        "refunded."
        if event.due_at
        else "If it is not paid by the deadline, your items will be abandoned (discarded)."
    )
    body = _join(head, _lines(event.billing), _pay_by(event.due_at), tail)
    return Notice("second_billing_issued", body, _billing_data(event))


def _shipped(event: events.OrderShipped) -> Notice:
    """R7: the customer is asked for a reception report and told when the order completes without one."""
    numbers = [n for n in event.tracking_numbers if n]
    how = ", ".join(x for x in (event.carrier, event.method) if x)
    body = _join(
        f"Your items have been shipped ({how})." if how else "Your items have been shipped.",
        f"Tracking number{'s' if len(numbers) > 1 else ''}: {', '.join(numbers)}." if numbers else None,
        "When they arrive, please send us a Reception Report from the order details page.",
        f"Without one, the order will be completed automatically on {when(event.completes_at)}.",
    )
    shipment = {"method": event.method, "carrier": event.carrier, "tracking_numbers": list(event.tracking_numbers)}
    return Notice("shipped", body, {"shipment": shipment, "completes_at": event.to_data()["completes_at"]})


# ---------------------------------------------------------------- how an order ends (R7, R8, R10, R11)


def _completed(event: events.OrderCompleted, window_days: int) -> Notice:
    """R7 and R8: how the order completed; after a dispute, its outcome and the refund."""
    if event.completed_by == "dispute_resolution":
        if event.refund_amount:
            head = (
                f"We have resolved the problem you reported: {yen(event.refund_amount)} has been refunded to your "
                "deposit. Your order is now complete."
            )
        elif event.refund_amount == 0:
            head = "We have resolved the problem you reported, with no refund. Your order is now complete."
        else:
            head = "We have resolved the problem you reported. Your order is now complete."
    elif event.completed_by == "no_reception_report":
        head = (
            "Your order has been completed automatically, as no Reception Report was received within the set "
            "period after shipment."
        )
    else:
        head = "Thank you for your Reception Report: we are glad your items arrived safely. Your order is complete."
    body = _join(
        head,
        f"You can still send us a message about this order for {window_days} days.",
    )
    data: dict[str, Any] = {"completed_by": event.completed_by}
    if event.refund_amount is not None:
        data["refund_amount"] = event.refund_amount
    return Notice("completed", body, data)


def _cancel_reason(event: events.OrderCanceled, service: str | None) -> str:
    """The first sentence of a cancel notice, for each reason (R4, R5, R6, R10), with the reason staff gave."""
    detail = _sentence(event.detail)
    if event.reason == "customer_request":
        return "Your order has been canceled as you requested."
    if event.reason == "payment_timeout":
        return "Your order has been canceled automatically because payment was not received by the deadline."
    if event.reason == "arrival_timeout":
        return "Your order has been canceled automatically because your items did not arrive at our warehouse in time."
    if event.reason == "estimate_timeout":
        late = {
            PURCHASE: "we could not send you its estimate in time",
            FORWARD: "we could not confirm in time whether we can forward your items",
        }.get(service or "", "we could not reply to your application in time")
        return f"We are sorry: your order has been canceled automatically because {late}."
    if event.reason == "unavailable":
        unable = {
            PURCHASE: "We are sorry: we are unable to purchase your items, so your order has been canceled.",
            FORWARD: "We are sorry: we are unable to forward your items, so your order has been canceled.",
        }.get(service or "", "We are sorry: we are unable to handle your order, so it has been canceled.")
        return _join(
            unable,
            f"Reason: {detail}" if detail else None,
        )
    return _join("We are sorry: we have had to cancel your order.", f"Reason: {detail}" if detail else None)


def _canceled(event: events.OrderCanceled, service: str | None) -> Notice:
    """R10: on every cancellation everything paid and not yet refunded goes back to the deposit; say how much."""
    body = _join(_cancel_reason(event, service), _refund_sentence(event.refund_amount))
    return Notice("canceled", body, {"reason": event.reason, "refund_amount": event.refund_amount})


def _abandoned(event: events.OrderAbandoned) -> Notice:
    """R11: the unpaid 2nd billing abandons the items and nothing is refunded."""
    unpaid = f" of {yen(event.unpaid_amount)}" if event.unpaid_amount is not None else ""
    body = (
        f"The 2nd billing{unpaid} was not paid by the deadline, so your items have been abandoned (discarded). "
        "Amounts already paid are not refunded."
    )
    return Notice("abandoned", body, {"unpaid_amount": event.unpaid_amount})


def _disputed(event: events.OrderDisputed) -> Notice:
    """R8: the customer explains by message, with photos; staff settle it."""
    said = _sentence(event.description)
    return Notice(
        "dispute_opened",
        _join(
            "We have received your problem report.",
            f"You wrote: {said}" if said else None,
            "Please tell us the details of the problem by message and attach photos that show the condition of any "
            "defective items. We will check and contact you as soon as possible.",
        ),
    )


# ---------------------------------------------------------------- R13: reminders


def _reminder(event: events.OrderDeadlineReminder) -> Notice | None:
    """R13: what happens at the deadline, when, and what prevents it.

    The estimate deadline is staff's to meet, not the customer's: nothing the
    customer does prevents it, so its reminder gives no notice (staff are told
    by ``order.staff_alert``; the customer by the cancellation if it fires).

    The payment reminder's words are held exactly by ``tests/system/test_event_contract.py``
    (outside messaging's tests), so the amount to pay is added to the 2nd
    billing's reminder only; the estimate notice and the order's pending
    operation name billing 1's amount.
    """
    if event.deadline == "estimate":
        return None
    due = when(event.due_at)
    if event.deadline == "payment":
        billing = "the 2nd billing" if event.billing_seq == 2 else "your billing"
        body = f"Reminder: please pay {billing} by {due}. Otherwise the order will be canceled automatically."
    elif event.deadline == "abandonment":
        # The abandonment clock starts at arrival (R11), before the 2nd billing exists: then there is none to pay yet.
        body = _join(
            f"Reminder: please pay the 2nd billing by {due}."
            if event.billing_seq
            else f"Reminder: the 2nd billing is due by {due}.",
            "Otherwise your items will be abandoned (discarded) and amounts already paid will not be refunded.",
            f"The amount to pay is {yen(event.amount)}." if event.amount is not None else None,
        )
    elif event.deadline == "arrival":
        body = (
            f"Reminder: your items have not arrived at our warehouse yet. If they do not arrive by {due}, the order "
            "will be canceled automatically and anything paid will be refunded to your deposit."
        )
    else:
        body = (
            f"Reminder: your order will be completed automatically on {due} unless you send us a Reception Report "
            "first."
        )
    deadline = {"kind": event.deadline, "due_at": event.to_data()["due_at"], "rule": event.rule}
    data = {"deadline": deadline, "billing_seq": event.billing_seq, "amount": event.amount}
    return Notice("deadline_reminder", body, data)


def _deadline_moved(event: events.OrderDeadlineMoved, service: str | None) -> Notice:
    """Staff moved a deadline: the new date as the one that now holds, what happens then, and for which billing.

    The notice that announced the old date stays in the history as it was
    said; this one names the old date only as "previously", so the thread's
    latest word on the deadline is the new date (as the order view's is).
    """
    due = when(event.due_at)
    before = f" (previously {when(event.previous_due_at)})" if event.previous_due_at else ""
    if event.deadline == "estimate":
        wait, unless = {
            PURCHASE: (f"We need more time to prepare your estimate: we will send it by {due}{before}.", "sent it"),
            FORWARD: (
                "We need more time to check your items: we will tell you whether we can forward them by "
                f"{due}{before}.",
                "told you",
            ),
        }.get(
            service or "",
            (f"We need more time to reply to your application: we will do so by {due}{before}.", "replied"),
        )
        body = _join(wait, f"If we have not {unless} by then, the order will be canceled automatically.")
    elif event.deadline == "payment":
        body = _join(
            f"We have moved the payment deadline of your billing to {due}{before}.",
            "If it is not paid by then, the order will be canceled automatically.",
        )
    elif event.deadline == "abandonment":
        body = _join(
            f"We have moved the payment deadline of the 2nd billing to {due}{before}.",
            "If it is not paid by then, your items will be abandoned (discarded) and amounts already paid will not "
            "be refunded.",
        )
    elif event.deadline == "arrival":
        body = _join(
            f"We have moved the deadline for your items to arrive at our warehouse to {due}{before}.",
            "If they have not arrived by then, the order will be canceled automatically and anything paid will be "
            "refunded to your deposit.",
        )
    else:
        body = _join(
            f"We have moved the date your order completes automatically to {due}{before}.",
            "Please send us a Reception Report before then once your items arrive.",
        )
    data = event.to_data()
    deadline = {"kind": event.deadline, "due_at": data["due_at"], "previous_due_at": data["previous_due_at"]}
    return Notice("deadline_moved", body, {"deadline": deadline, "billing_seq": event.billing_seq})


NOTICES: dict[type[events.OrderEvent], Callable[[Any], Notice | None]] = {
    events.OrderEstimated: _estimated,
    # order.payment_requested gives no notice: the customer has just pressed "pay" themselves, and the
    # deposit's answer follows at once (order.paid -> "payment received").
    events.OrderPaid: _paid,
    events.OrderPaymentRejected: _payment_rejected,
    events.OrderArrived: _arrived,
    events.OrderSecondBillingIssued: _second_billing,
    events.OrderShipped: _shipped,
    events.OrderAbandoned: _abandoned,
    events.OrderDisputed: _disputed,
    events.OrderDeadlineReminder: _reminder,
    # order.staff_alert gives no notice: it is for staff and paging systems, never for the customer.
}

CLOSING = (events.OrderCompleted, events.OrderCanceled, events.OrderAbandoned)


def notice_of(
    event: events.OrderEvent,
    *,
    window_days: int = 90,
    service_type: str | None = None,
    at: datetime | None = None,
) -> Notice | None:
    """The notice an order event gives, or ``None`` for events with nothing to tell the customer.

    ``service_type`` is what messaging knows of the order's service (named by
    ``order.applied``, or inferred by ``domain.service_shown_by`` for older
    orders): a cancellation, an unavailable item or a moved deadline is worded
    differently for a purchase and a forward order. Unknown (``None``), the
    notice says what is true of both. ``at`` is the event's time: a closing
    notice names it as ``data.closed_at``.
    """
    if isinstance(event, events.OrderStaffAlert):
        return None
    service = service_type or service_shown_by(event)
    notice: Notice | None
    if isinstance(event, events.OrderCompleted):
        notice = _completed(event, window_days)
    elif isinstance(event, events.OrderCanceled):
        notice = _canceled(event, service)
    elif isinstance(event, events.OrderItemUpdated):
        notice = _item_updated(event, service)
    elif isinstance(event, events.OrderDeadlineMoved):
        notice = _deadline_moved(event, service)
    else:
        compose = NOTICES.get(type(event))
        notice = None if compose is None else compose(event)
    if notice is None:
        return None
    return _with_staff_words(_with_closing_time(notice, event, at), event.staff_message)


def _with_closing_time(notice: Notice, event: events.OrderEvent, at: datetime | None) -> Notice:
    """A closing notice says when the order closed (R3's window counts from then); other notices do not."""
    if not isinstance(event, CLOSING):
        return notice
    return replace(notice, data={**notice.data, "closed_at": at.isoformat() if at is not None else None})


def _with_staff_words(notice: Notice, staff_message: str | None) -> Notice:
    """Staff's deliberate words to the customer end the notice of the operation they came with."""
    said = _sentence(staff_message)
    if staff_message is None or said is None:
        return notice
    body = _join(notice.body, f"Message from our staff: {said}")
    return replace(notice, body=body, data={**notice.data, "staff_message": staff_message})


def notice_for(
    event_type: str,
    data: Mapping[str, Any],
    *,
    window_days: int = 90,
    service_type: str | None = None,
    at: datetime | None = None,
) -> Notice | None:
    """The notice of an event as it travels; raises ``contracts.ContractViolation`` if it breaks its contract."""
    event = read_order_event(event_type, data)
    return notice_of(event, window_days=window_days, service_type=service_type, at=at)


def read_order_event(event_type: str, data: Mapping[str, Any]) -> events.OrderEvent:
    """An order event's data as its model; ``contracts.ContractViolation`` with the reason otherwise."""
    event = ORDER_EVENTS.parse(event_type, data)
    assert isinstance(event, events.OrderEvent)  # every model of the orders topic is one
    return event
