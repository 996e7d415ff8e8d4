"""Every operation on an order: its name, its payload model, its rule, and what it does.

The descriptions are what staff read in the Temporal Web UI next to each
signal and update, so each says what the operation does and shows a payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflows import STAFF_OPERATIONS, staff_update_name
from workflows.models import (
    AmendItemsRequest,
    CannotHandleRequest,
    ConfirmHandlingRequest,
    EstimateRequest,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemUnavailableRequest,
    MoveDeadlineRequest,
    ResolveDisputeRequest,
    SecondBillingRequest,
    ShipRequest,
    StaffCancelRequest,
    StaffRequest,
)
from workflows.order_state import Order
from workflows.rules import billing, cancellation, deadlines, fulfilment

Rule = Callable[[Order, Any, datetime, str], None]


@dataclass(frozen=True)
class StaffOperation:
    name: str  # the signal's name; the update is staff_<name>
    request: type[StaffRequest]
    rule: Rule
    description: str

    @property
    def update(self) -> str:
        return staff_update_name(self.name)


def _staff(name: str, request: type[StaffRequest], rule: Rule, what: str, example: str) -> StaffOperation:
    common = '"actor": "<staff id>", "internal_note": "<optional, staff only>", "message_to_customer": "<optional>"'
    return StaffOperation(
        name, request, _with_staff_words(name, rule), f"STAFF: {what} Payload: {{{example}, {common}}}"
    )


def _with_staff_words(name: str, rule: Rule) -> Rule:
    """The rule, then what staff wrote with it: the internal note into the staff part, the message to the
    customer onto every order event the rule raised and into the customer's history."""

    def run(order: Order, request: StaffRequest, now: datetime, actor: str) -> None:
        raised_before = len(order.effects)
        rule(order, request, now, actor)
        if request.internal_notes:
            order.note_internally(now, actor, name, request.internal_notes)
        if request.message_to_customer:
            order.tell_customer(now, actor, request.message_to_customer, since=raised_before)

    run.__name__ = getattr(rule, "__name__", name)
    run.__doc__ = rule.__doc__
    return run


_TABLE = (
    _staff(
        "estimate",
        EstimateRequest,
        billing.estimate,
        "Estimate or re-estimate billing 1 (the single billing on the one-time plan); the customer has 7 days "
        "to pay (R5), a re-estimate restarts the clock.",
        '"unit_prices": {"1": 3200}, "domestic_shipping": 800, "service_fee": 500, '
        '"international_shipping": 2400 (one-time plan only), "extras": [{"description": "gift wrap", "amount": 300}]',
    ),
    _staff(
        "confirm_handling",
        ConfirmHandlingRequest,
        billing.confirm_handling,
        "Forward order: we can handle the items. Issues billing 1 (7 days to pay, R5) and starts the "
        "arrival clock (R6).",
        '"service_fee": 500, "international_shipping": 2400 (one-time plan only), "extras": []',
    ),
    _staff(
        "cannot_handle",
        CannotHandleRequest,
        cancellation.cannot_handle,
        "We cannot purchase or forward this order: cancel it as unavailable and refund everything paid (R10).",
        '"reason": "prohibited item"',
    ),
    _staff(
        "item_purchased",
        ItemPurchasedRequest,
        fulfilment.item_purchased,
        "Purchase order: an item was bought.",
        '"item_id": "1"',
    ),
    _staff(
        "item_unavailable",
        ItemUnavailableRequest,
        fulfilment.item_unavailable,
        "An item cannot be bought (or will not arrive): refund its price; no item left cancels the order (R10).",
        '"item_id": "1", "reason": "sold out"',
    ),
    _staff(
        "item_arrived",
        ItemArrivedRequest,
        fulfilment.item_arrived,
        "An item reached the warehouse; when all have, the order moves on (R6 stops, R11 starts on two-time).",
        '"item_id": "1", "domestic_tracking_number": "<optional>"',
    ),
    _staff(
        "issue_second_billing",
        SecondBillingRequest,
        billing.issue_second_billing,
        "Two-time plan: bill international shipping and extras after packing (R12); unpaid by the "
        "abandonment deadline, the items are abandoned (R11).",
        '"international_shipping": 2400, "extras": [], "shipping_method": "EMS"',
    ),
    _staff(
        "ship",
        ShipRequest,
        fulfilment.ship,
        "The parcel was shipped; without a reception report the order completes 50 days later (R7).",
        '"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM123456789JP"]',
    ),
    _staff(
        "resolve_dispute",
        ResolveDisputeRequest,
        fulfilment.resolve_dispute,
        "Settle a problem report: refund any amount up to what was paid (or 0), then the order completes (R8).",
        '"refund_amount": 1500, "resolution": "one item damaged"',
    ),
    _staff(
        "amend_items",
        AmendItemsRequest,
        billing.amend_items,
        "Partial cancellation or quantity change asked by message, before any payment; issues a new estimate "
        "(R4). Fees left out keep their amount.",
        '"changes": [{"item_id": "2", "quantity": 0}, {"item_id": "1", "quantity": 3, "unit_price": 3000}]',
    ),
    _staff(
        "cancel_order",
        StaffCancelRequest,
        cancellation.staff_cancel,
        "Cancel the order (staff decision) and refund everything paid (R10). Not after shipment.",
        '"reason": "customer asked by message"',
    ),
    _staff(
        "move_deadline",
        MoveDeadlineRequest,
        deadlines.move_deadline,
        "Move an automatic deadline (estimate R14, payment R5, arrival R6, abandonment R11, completion R7) to a "
        "time or by a shift; its reminder (R13) follows and the customer is told the new date.",
        '"deadline": "payment", "due_at": "2030-01-31T15:00:00+09:00" or "shift_by": "P3D"',
    ),
)

STAFF: dict[str, StaffOperation] = {operation.name: operation for operation in _TABLE}
assert tuple(STAFF) == STAFF_OPERATIONS, "workflows.STAFF_OPERATIONS documents this table"

CUSTOMER_DESCRIPTIONS = {
    "pay_billing": "CUSTOMER (orders service): pay a billing from the deposit. Payload: "
    '{"billing_seq": 1, "revision": 1}',
    "cancel": "CUSTOMER (orders service): cancel the whole order; refused after any payment (R4). "
    'Staff use cancel_order. Payload: {"reason": "<optional>"}',
    "report_reception": "CUSTOMER (orders service): reception report, received fine (completes, R7) or "
    'problem (opens a dispute, R8). Payload: {"outcome": "received" | "problem", "comment": ""}',
    "add_tracking": "CUSTOMER (orders service): forward order, an item's domestic tracking number given after "
    'applying, until the item arrives. Payload: {"item_id": "1", "domestic_tracking_number": "1234-5678-9012"}',
}
DEPOSIT_EVENT_DESCRIPTION = (
    "SYSTEM (orders service bridge): a deposit result, applied once per event_id. Payload: "
    '{"event_id": "...", "type": "deposit.charged" | "deposit.charge_rejected" | "deposit.refunded", '
    '"order_id": "...", "billing_seq": 1, "revision": 1, "amount": 12000, "shortfall": null, "refund_key": null}'
)
VIEW_DESCRIPTION = (
    "The order-details view (R1): status, items, billings, shipment, history, pending customer operations."
)
