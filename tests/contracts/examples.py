"""Valid order events for tests: each type's data as the order workflow sends it, with any field overridden.

Tests that put order events on the topic or word notices start from these, so
what they send is what the contract allows (the workflow's own output is
checked in ``tests/contracts/test_wire_examples.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.topics import ORDERS_EVENTS, topic

DUE = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


def billing(seq: int = 1, revision: int = 1, total: int = 12800, **overrides: Any) -> dict[str, Any]:
    kind = "first" if seq == 1 else "second"
    return {
        "seq": seq,
        "kind": kind,
        "revision": revision,
        "lines": [{"kind": "item", "description": "Blue mug x 1", "amount": total, "item_id": "1"}],
        "total": total,
        "status": "awaiting_payment",
        "issued_at": "2026-11-26T01:00:00Z",
        "paid_at": None,
        "paid_amount": None,
        "last_rejection": None,
        **overrides,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()


REQUIRED: dict[str, dict[str, Any]] = {
    "order.applied": {"items": 1, "payment_plan": "one_time"},
    "order.estimated": {"billing": billing(), "due_at": _iso(DUE), "contact": "estimate", "re_estimate": False},
    "order.payment_requested": {"billing_seq": 1, "revision": 1, "amount": 12800},
    "order.paid": {"billing_seq": 1, "revision": 1, "amount": 12800},
    "order.payment_rejected": {"billing_seq": 1, "revision": 1, "shortfall": None},
    "order.item_updated": {"item_id": "1", "name": "Blue mug", "item_status": "purchased"},
    "order.arrived": {},
    "order.second_billing_issued": {"billing": billing(seq=2, total=3400), "due_at": _iso(DUE + timedelta(days=30))},
    "order.shipped": {
        "method": "EMS",
        "carrier": "Japan Post",
        "tracking_numbers": ["EJ1JP"],
        "completes_at": _iso(DUE),
    },
    "order.completed": {"completed_by": "reception_report"},
    "order.disputed": {"description": ""},
    "order.canceled": {"reason": "customer_request", "detail": "", "refund_amount": 0},
    "order.abandoned": {"unpaid_amount": 3400},
    "order.deadline_reminder": {
        "deadline": "payment",
        "rule": "R5",
        "due_at": _iso(DUE),
        "consequence": "the order is canceled",
        "billing_seq": 1,
        "amount": 12800,
    },
    "order.deadline_moved": {
        "deadline": "payment",
        "due_at": _iso(DUE),
        "previous_due_at": _iso(DUE + timedelta(days=2)),
        "billing_seq": 1,
    },
    "order.staff_alert": {
        "alert": "estimate_overdue",
        "due_at": _iso(DUE),
        "consequence": "the order will be canceled",
    },
}

STATUS_AFTER: dict[str, str] = {
    "order.applied": "applied",
    "order.estimated": "awaiting_payment",
    "order.payment_requested": "awaiting_payment",
    "order.paid": "purchasing",
    "order.payment_rejected": "awaiting_payment",
    "order.item_updated": "purchasing",
    "order.arrived": "preparing_shipment",
    "order.second_billing_issued": "awaiting_second_payment",
    "order.shipped": "shipped",
    "order.completed": "completed",
    "order.disputed": "disputed",
    "order.canceled": "canceled",
    "order.abandoned": "abandoned",
    "order.deadline_reminder": "awaiting_payment",
    "order.deadline_moved": "awaiting_payment",
    "order.staff_alert": "applied",
}


def order_event(
    event_type: str, order_id: str = "P261126-TEST", customer_id: str = "cust-1", **overrides: Any
) -> dict[str, Any]:
    """The data of a valid ``event_type`` event; ``overrides`` replace fields (``status`` included)."""
    data = {"order_id": order_id, "customer_id": customer_id, "status": STATUS_AFTER[event_type]}
    data |= REQUIRED[event_type] | overrides
    topic(ORDERS_EVENTS).parse(event_type, data)  # an example that breaks the contract fails where it is built
    return data
