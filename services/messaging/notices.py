"""System notices: what the agency tells the customer in the message history when an order event happens.

Pure wording, no I/O. Each notice carries its text in the agency's words plus
the facts it was made from (``data``), so a frontend can render it its own way.
Events are read with their contract (``contracts.orders``), so every field a
sentence needs is there and typed: an optional one left out (a reminder with no
billing) only leaves its sentence out. An event type that tells the customer
nothing (``order.applied``, ``order.payment_requested``) gives no notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts import orders as events
from contracts.topics import ORDERS_EVENTS, topic

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time: a fixed offset is exact
ORDER_EVENTS = topic(ORDERS_EVENTS)


@dataclass(frozen=True)
class Notice:
    notice_type: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


def yen(amount: int | None) -> str | None:
    """Integer yen as the agency writes it."""
    return None if amount is None else f"¥{amount:,}"


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(JST).strftime("%d %b %Y %H:%M JST")


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _billing_sentence(billing: events.Billing, label: str, due_at: datetime | None) -> str:
    amount, due = yen(billing.total), when(due_at)
    return _join(
        f"The amount to pay is {amount}.",
        f"Please pay from your deposit by {due}." if due else "Please pay from your deposit.",
        label,
    )


def _billing_data(event: events.OrderEstimated | events.OrderSecondBillingIssued) -> dict[str, Any]:
    return {"billing": event.billing.model_dump(mode="json"), "due_at": event.to_data()["due_at"]}


def _estimated(event: events.OrderEstimated) -> Notice:
    revised = event.billing.revision > 1
    head = "We have revised the estimate of your order." if revised else "The estimate of your order is ready."
    tail = "If payment is not received by the deadline, the order will be canceled automatically."
    body = _join(head, _billing_sentence(event.billing, tail, event.due_at))
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


def _item_updated(event: events.OrderItemUpdated) -> Notice:
    name, status = event.name or "an item", event.item_status
    if status == "purchased":
        body = f"We have purchased {name}."
    elif status == "unavailable":
        body = (
            f"Unfortunately we could not purchase {name}: it is sold out or no longer available. "
            "Nothing will be charged for it."
        )
    elif status == "arrived":
        body = f"{name} has arrived at our warehouse."
    else:
        body = f"The status of {name} is now: {status}."
    item = {"item_id": event.item_id, "name": event.name, "status": status}
    return Notice(f"item_{status}", body, {"item": item})


def _arrived(_: events.OrderArrived) -> Notice:
    return Notice(
        "items_arrived",
        "Your items have arrived at our warehouse. We will now pack them and prepare the international shipment.",
    )


def _second_billing(event: events.OrderSecondBillingIssued) -> Notice:
    tail = (
        "If the 2nd billing is not paid by the deadline, the items will be abandoned (discarded) and amounts "
        "already paid will not be refunded."
    )
    head = "The billing for your 2nd payment (international shipping and extras) has been issued."
    body = _join(head, _billing_sentence(event.billing, tail, event.due_at))
    return Notice("second_billing_issued", body, _billing_data(event))


def _shipped(event: events.OrderShipped) -> Notice:
    numbers = [n for n in event.tracking_numbers if n]
    how = ", ".join(x for x in (event.carrier, event.method) if x)
    body = _join(
        f"Your items have been shipped ({how})." if how else "Your items have been shipped.",
        f"Tracking number{'s' if len(numbers) > 1 else ''}: {', '.join(numbers)}." if numbers else None,
        "When they arrive, please send us a Reception Report from the order details page.",
    )
    shipment = {"method": event.method, "carrier": event.carrier, "tracking_numbers": list(event.tracking_numbers)}
    return Notice("shipped", body, {"shipment": shipment})


def _completed(_: events.OrderCompleted, window_days: int) -> Notice:
    return Notice(
        "completed",
        "Your order is complete. Thank you for using our service. You can still send us a message about this "
        f"order for {window_days} days.",
    )


CANCEL_WORDING: dict[str, str] = {
    "customer_request": "Your order has been canceled as you requested.",
    "arrival_timeout": (
        "Your order has been canceled automatically because the items did not arrive at our warehouse in time."
    ),
    "payment_timeout": "Your order has been canceled automatically because payment was not received by the deadline.",
    "unavailable": (
        "We are sorry: we were unable to handle your order, so it has been canceled. "
        "Any payment made has been refunded to your deposit."
    ),
}


def _canceled(event: events.OrderCanceled) -> Notice:
    body = CANCEL_WORDING.get(event.reason, f"Your order has been canceled. Reason: {event.reason}.")
    return Notice("canceled", body, {"reason": event.reason})


def _abandoned(_: events.OrderAbandoned) -> Notice:
    return Notice(
        "abandoned",
        "The 2nd billing was not paid by the deadline, so your items have been abandoned (discarded). "
        "Amounts already paid are not refunded.",
    )


def _disputed(_: events.OrderDisputed) -> Notice:
    return Notice(
        "dispute_opened",
        "We have received your problem report. Please tell us the details of the problem by message and attach "
        "photos that show the condition of any defective items. We will check and contact you as soon as possible.",
    )


REMINDER_WORDING: dict[str, str] = {
    "abandonment": (
        "Reminder: please pay the 2nd billing {by}. Otherwise your items will be abandoned (discarded) and "
        "amounts already paid will not be refunded."
    ),
    "arrival": (
        "Reminder: your items have not arrived at our warehouse yet. If they do not arrive {by}, the order "
        "will be canceled automatically."
    ),
    "payment": "Reminder: please pay your billing {by}. Otherwise the order will be canceled automatically.",
}


def _reminder(event: events.OrderDeadlineReminder) -> Notice:
    due = when(event.due_at)
    wording = REMINDER_WORDING.get(event.deadline)
    body = (
        wording.format(by=f"by {due}")
        if wording
        else f"Reminder: a deadline on your order is approaching ({due or 'see the order details page'})."
    )
    deadline = {"kind": event.deadline, "due_at": event.to_data()["due_at"], "rule": event.rule}
    return Notice("deadline_reminder", body, {"deadline": deadline})


NOTICES: dict[type[events.OrderEvent], Callable[[Any], Notice]] = {
    events.OrderEstimated: _estimated,
    # order.payment_requested gives no notice: the customer has just pressed "pay" themselves, and the
    # deposit's answer follows at once (order.paid -> "payment received").
    events.OrderPaid: _paid,
    events.OrderPaymentRejected: _payment_rejected,
    events.OrderItemUpdated: _item_updated,
    events.OrderArrived: _arrived,
    events.OrderSecondBillingIssued: _second_billing,
    events.OrderShipped: _shipped,
    events.OrderCanceled: _canceled,
    events.OrderAbandoned: _abandoned,
    events.OrderDisputed: _disputed,
    events.OrderDeadlineReminder: _reminder,
}


def notice_of(event: events.OrderEvent, *, window_days: int = 90) -> Notice | None:
    """The notice an order event gives, or ``None`` for events with nothing to tell the customer."""
    if isinstance(event, events.OrderCompleted):
        return _completed(event, window_days)
    compose = NOTICES.get(type(event))
    return None if compose is None else compose(event)


def notice_for(event_type: str, data: Mapping[str, Any], *, window_days: int = 90) -> Notice | None:
    """The notice of an event as it travels; raises ``contracts.ContractViolation`` if it breaks its contract."""
    return notice_of(read_order_event(event_type, data), window_days=window_days)


def read_order_event(event_type: str, data: Mapping[str, Any]) -> events.OrderEvent:
    """An order event's data as its model; ``contracts.ContractViolation`` with the reason otherwise."""
    event = ORDER_EVENTS.parse(event_type, data)
    assert isinstance(event, events.OrderEvent)  # every model of the orders topic is one
    return event
