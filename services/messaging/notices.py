"""System notices: what the agency tells the customer in the message history when an order event happens.

Pure wording, no I/O. Each notice carries its text in the agency's words plus
the facts it was made from (``data``), so a frontend can render it its own way.
Event payloads are read leniently: a missing optional field leaves a sentence
out, it never fails the consumer; an unknown event type gives no notice.

The order workflow publishes flat payloads (``workflows/rules``): ``due_at``
next to ``billing``, ``item_id``/``item_status``/``name``, ``method``/
``carrier``/``tracking_numbers``, and ``deadline`` as the deadline's kind.
Nested objects (``item``, ``shipment``, ``deadline`` as an object) are read too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from services.messaging.domain import parse_time

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time: a fixed offset is exact


@dataclass(frozen=True)
class Notice:
    notice_type: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


def yen(amount: Any) -> str | None:
    """Integer yen as the agency writes it; anything that is not a whole number is left out."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return None
    return f"¥{amount:,}"


def when(value: Any) -> str | None:
    moment = parse_time(value)
    return None if moment is None else moment.astimezone(JST).strftime("%d %b %Y %H:%M JST")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _billing_sentence(billing: dict[str, Any], label: str, due_at: Any = None) -> str:
    amount, due = yen(billing.get("total")), when(billing.get("due_at") or due_at)
    return _join(
        f"The amount to pay is {amount}." if amount else None,
        f"Please pay from your deposit by {due}." if due else "Please pay from your deposit.",
        label,
    )


def _estimated(data: dict[str, Any]) -> Notice:
    billing = _dict(data.get("billing"))
    revised = isinstance(billing.get("revision"), int) and billing["revision"] > 1
    head = "We have revised the estimate of your order." if revised else "The estimate of your order is ready."
    tail = "If payment is not received by the deadline, the order will be canceled automatically."
    due_at = data.get("due_at")
    body = _join(head, _billing_sentence(billing, tail, due_at))
    return Notice("estimate_ready", body, {"billing": billing, "due_at": billing.get("due_at") or due_at})


def _paid(data: dict[str, Any]) -> Notice:
    amount = yen(data.get("amount"))
    body = f"We have received your payment of {amount}. Thank you." if amount else "We have received your payment."
    return Notice("payment_received", body, {"billing_seq": data.get("billing_seq"), "amount": data.get("amount")})


def _payment_rejected(data: dict[str, Any]) -> Notice:
    """The deposit could not pay: the customer must pay in before trying again (R9)."""
    short = yen(data.get("shortfall"))
    body = _join(
        "We could not take your payment from your deposit.",
        f"Your deposit is {short} short." if short else None,
        "Please pay in to your deposit, then pay the billing again before its deadline.",
    )
    return Notice(
        "payment_rejected", body, {"billing_seq": data.get("billing_seq"), "shortfall": data.get("shortfall")}
    )


def _item_updated(data: dict[str, Any]) -> Notice | None:
    item = _dict(data.get("item")) or {
        "item_id": data.get("item_id"),
        "name": data.get("name"),
        "status": data.get("item_status"),
    }
    name = str(item.get("name") or "an item")
    status = str(item.get("status") or "").lower()
    if status == "purchased":
        body = f"We have purchased {name}."
    elif status == "unavailable":
        body = (
            f"Unfortunately we could not purchase {name}: it is sold out or no longer available. "
            "Nothing will be charged for it."
        )
    elif status == "arrived":
        body = f"{name} has arrived at our warehouse."
    elif status:
        body = f"The status of {name} is now: {status}."
    else:
        return None
    return Notice(f"item_{status}", body, {"item": item})


def _arrived(data: dict[str, Any]) -> Notice:
    return Notice(
        "items_arrived",
        "Your items have arrived at our warehouse. We will now pack them and prepare the international shipment.",
    )


def _second_billing(data: dict[str, Any]) -> Notice:
    billing = _dict(data.get("billing"))
    tail = (
        "If the 2nd billing is not paid by the deadline, the items will be abandoned (discarded) and amounts "
        "already paid will not be refunded."
    )
    head = "The billing for your 2nd payment (international shipping and extras) has been issued."
    due_at = data.get("due_at")
    body = _join(head, _billing_sentence(billing, tail, due_at))
    return Notice("second_billing_issued", body, {"billing": billing, "due_at": billing.get("due_at") or due_at})


def _shipped(data: dict[str, Any]) -> Notice:
    shipment = _dict(data.get("shipment")) or {
        key: data[key] for key in ("method", "carrier", "tracking_numbers") if key in data
    }
    given = shipment.get("tracking_numbers")
    numbers = [str(n) for n in given if n] if isinstance(given, list) else []
    carrier, method = shipment.get("carrier"), shipment.get("method")
    how = ", ".join(str(x) for x in (carrier, method) if x)
    body = _join(
        f"Your items have been shipped ({how})." if how else "Your items have been shipped.",
        f"Tracking number{'s' if len(numbers) > 1 else ''}: {', '.join(numbers)}." if numbers else None,
        "When they arrive, please send us a Reception Report from the order details page.",
    )
    return Notice("shipped", body, {"shipment": shipment})


def _completed(data: dict[str, Any], window_days: int) -> Notice:
    return Notice(
        "completed",
        "Your order is complete. Thank you for using our service. You can still send us a message about this "
        f"order for {window_days} days.",
        {"closed_at": data.get("closed_at")},
    )


CANCEL_WORDING = (
    (("customer", "request"), "Your order has been canceled as you requested."),
    (
        ("arriv",),
        "Your order has been canceled automatically because the items did not arrive at our warehouse in time.",
    ),
    (
        ("unpaid", "payment", "estimate", "deadline", "auto", "handling"),
        "Your order has been canceled automatically because payment was not received by the deadline.",
    ),
    (
        ("unable", "inabil", "unavailable", "sold"),
        "We are sorry: we were unable to handle your order, so it has been canceled. "
        "Any payment made has been refunded to your deposit.",
    ),
)


def _canceled(data: dict[str, Any]) -> Notice:
    reason = str(data.get("reason") or "")
    lowered = reason.lower()
    body = next(
        (text for words, text in CANCEL_WORDING if any(w in lowered for w in words)),
        _join("Your order has been canceled.", f"Reason: {reason}." if reason else None),
    )
    return Notice("canceled", body, {"reason": reason or None, "closed_at": data.get("closed_at")})


def _abandoned(data: dict[str, Any]) -> Notice:
    return Notice(
        "abandoned",
        "The 2nd billing was not paid by the deadline, so your items have been abandoned (discarded). "
        "Amounts already paid are not refunded.",
        {"closed_at": data.get("closed_at")},
    )


def _disputed(data: dict[str, Any]) -> Notice:
    return Notice(
        "dispute_opened",
        "We have received your problem report. Please tell us the details of the problem by message and attach "
        "photos that show the condition of any defective items. We will check and contact you as soon as possible.",
    )


def _reminder(data: dict[str, Any]) -> Notice:
    given = data.get("deadline")
    deadline = _dict(given) or (
        {"kind": given, "due_at": data.get("due_at"), "rule": data.get("rule")} if isinstance(given, str) else {}
    )
    kind = str(deadline.get("kind") or "").lower()
    due = when(deadline.get("due_at"))
    by = f"by {due}" if due else "by the deadline"
    if "second" in kind or "abandon" in kind or "2nd" in kind:
        body = (
            f"Reminder: please pay the 2nd billing {by}. Otherwise your items will be abandoned (discarded) and "
            "amounts already paid will not be refunded."
        )
    elif "arriv" in kind:
        body = (
            f"Reminder: your items have not arrived at our warehouse yet. If they do not arrive {by}, the order "
            "will be canceled automatically."
        )
    elif "pay" in kind or "estimate" in kind or "handling" in kind:
        body = f"Reminder: please pay your billing {by}. Otherwise the order will be canceled automatically."
    else:
        body = f"Reminder: a deadline on your order is approaching ({due or 'see the order details page'})."
    return Notice("deadline_reminder", body, {"deadline": deadline})


NOTICES: dict[str, Callable[[dict[str, Any]], Notice | None]] = {
    "order.estimated": _estimated,
    # order.payment_requested gives no notice: the customer has just pressed "pay" themselves, and the
    # deposit's answer follows at once (order.paid -> "payment received").
    "order.paid": _paid,
    "order.payment_rejected": _payment_rejected,
    "order.item_updated": _item_updated,
    "order.arrived": _arrived,
    "order.second_billing_issued": _second_billing,
    "order.shipped": _shipped,
    "order.canceled": _canceled,
    "order.abandoned": _abandoned,
    "order.disputed": _disputed,
    "order.deadline_reminder": _reminder,
}


def notice_for(event_type: str, data: dict[str, Any], *, window_days: int = 90) -> Notice | None:
    """The notice an order event gives, or ``None`` (unknown types, events with nothing to tell)."""
    if event_type == "order.completed":
        return _completed(data, window_days)
    compose = NOTICES.get(event_type)
    return None if compose is None else compose(data)
