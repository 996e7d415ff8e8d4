"""``daiko.orders.events.v1``: what happened to an order, published by the order workflow.

Keyed and ``subject``-ed by the order id, so one order's events stay in order.
Every event names the order, its customer and the order's status *after* the
event; the rest says what changed. Times at the top level are written with
their offset (``+00:00``); times inside a billing are written the way the
order's read model writes them (``Z``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import StrictBool, StrictStr

from contracts.base import Contract, Part
from contracts.ids import BillingSeq, Count, CustomerId, IsoMoment, ItemId, OrderId, Revision, Text, Yen

OrderStatus = Literal[
    "applied",
    "awaiting_payment",
    "purchasing",
    "awaiting_arrival",
    "at_warehouse",
    "awaiting_second_payment",
    "preparing_shipment",
    "shipped",
    "disputed",
    "completed",
    "canceled",
    "abandoned",
    "halted",  # shown by the orders service when an order's workflow ended abnormally; no event carries it
]
PaymentPlan = Literal["one_time", "two_time"]
ServiceType = Literal["purchase", "forward"]
ItemStatus = Literal["requested", "purchased", "unavailable", "arrived", "canceled", "discarded"]
"""``discarded``: the item was at the warehouse when the order was abandoned (R11)."""
CancelReason = Literal[
    "customer_request", "unavailable", "payment_timeout", "arrival_timeout", "estimate_timeout", "staff"
]
"""``estimate_timeout``: staff never sent the estimate (or the handling contact) in time."""
DeadlineKind = Literal["estimate", "payment", "arrival", "abandonment", "completion"]
"""``estimate``: by when staff must send the estimate (or the handling contact) before the order is canceled."""
StaffAlertKind = Literal["estimate_overdue"]
CompletedBy = Literal["reception_report", "no_reception_report", "dispute_resolution"]
EstimateContact = Literal["estimate", "handling_availability", "amendment"]
BillingKind = Literal["first", "second", "single"]
BillingStatus = Literal["awaiting_payment", "charging", "paid", "canceled"]
LineKind = Literal["item", "domestic_shipping", "service_fee", "international_shipping", "extra"]


class BillingLine(Part):
    kind: LineKind
    description: Text
    amount: Yen
    item_id: ItemId | None = None


class ChargeRejection(Part):
    at: datetime
    shortfall: Yen | None = None


class Billing(Part):
    """A billing as the order holds it: what the customer is asked to pay, line by line."""

    seq: BillingSeq
    kind: BillingKind
    revision: Revision
    lines: list[BillingLine]
    total: Yen
    status: BillingStatus = "awaiting_payment"
    issued_at: datetime
    paid_at: datetime | None = None
    paid_amount: Yen | None = None
    last_rejection: ChargeRejection | None = None


class OrderEvent(Contract):
    """The fields every order event starts with."""

    order_id: OrderId
    customer_id: CustomerId
    status: OrderStatus
    staff_message: Text | None = None
    """What staff deliberately said to the customer with the operation that raised the event (shown in
    the notice); staff's internal notes never travel in events."""


class OrderApplied(OrderEvent):
    type: ClassVar[str] = "order.applied"
    summary: ClassVar[str] = "A customer applied for an order (purchase or forward), with its items and payment plan."
    items: Count
    payment_plan: PaymentPlan
    service_type: ServiceType | None = None
    """Always sent today; absent in events raised before the service was named in them (still on the topic)."""


class OrderEstimated(OrderEvent):
    type: ClassVar[str] = "order.estimated"
    summary: ClassVar[str] = (
        "Staff sent the estimate (or the forward service's handling contact): billing 1 to pay from the deposit "
        "by due_at (R5); re_estimate when it replaces an earlier one."
    )
    billing: Billing
    due_at: IsoMoment
    contact: EstimateContact
    re_estimate: StrictBool


class OrderPaymentRequested(OrderEvent):
    type: ClassVar[str] = "order.payment_requested"
    summary: ClassVar[str] = "The customer pressed pay: the deposit is asked to charge the billing."
    billing_seq: BillingSeq
    revision: Revision
    amount: Yen


class OrderPaid(OrderEvent):
    type: ClassVar[str] = "order.paid"
    summary: ClassVar[str] = "The deposit paid a billing."
    billing_seq: BillingSeq
    revision: Revision
    amount: Yen | None


class OrderPaymentRejected(OrderEvent):
    type: ClassVar[str] = "order.payment_rejected"
    summary: ClassVar[str] = (
        "The deposit could not pay a billing (shortfall: how much is missing); the customer pays in and tries again."
    )
    billing_seq: BillingSeq
    revision: Revision
    shortfall: Yen | None


class OrderItemUpdated(OrderEvent):
    type: ClassVar[str] = "order.item_updated"
    summary: ClassVar[str] = (
        "An item was purchased, found unavailable (refund_amount given back, R10), arrived at the warehouse, "
        "or amended (quantity)."
    )
    item_id: ItemId
    name: Text | None = None
    """Always sent today; absent in events raised before items were named in them (still on the topic)."""
    item_status: ItemStatus
    quantity: Count | None = None
    refund_amount: Yen | None = None


class OrderArrived(OrderEvent):
    type: ClassVar[str] = "order.arrived"
    summary: ClassVar[str] = (
        "Every item is at the warehouse; on the two-time plan the 2nd billing must be paid by abandon_due_at (R11)."
    )
    abandon_due_at: IsoMoment | None = None


class OrderSecondBillingIssued(OrderEvent):
    type: ClassVar[str] = "order.second_billing_issued"
    summary: ClassVar[str] = "Two-time plan: the 2nd billing (international shipping and extras, R12) to pay by due_at."
    billing: Billing
    due_at: IsoMoment | None


class OrderShipped(OrderEvent):
    type: ClassVar[str] = "order.shipped"
    summary: ClassVar[str] = (
        "The parcel left Japan; the order completes at completes_at unless a reception report comes first (R7)."
    )
    method: Text
    carrier: Text
    tracking_numbers: list[Text]
    completes_at: IsoMoment


class OrderCompleted(OrderEvent):
    type: ClassVar[str] = "order.completed"
    summary: ClassVar[str] = (
        "The order is complete: by the customer's reception report, by itself after the completion period (R7), "
        "or when staff resolved a dispute (refund_amount, R8)."
    )
    completed_by: CompletedBy
    refund_amount: Yen | None = None


class OrderDisputed(OrderEvent):
    type: ClassVar[str] = "order.disputed"
    summary: ClassVar[str] = "The customer's reception report says something is wrong: a dispute is open (R8)."
    description: Text


class OrderCanceled(OrderEvent):
    type: ClassVar[str] = "order.canceled"
    summary: ClassVar[str] = "The order was canceled (by the customer, a deadline or staff), refund_amount given back."
    reason: CancelReason
    detail: Text
    refund_amount: Yen


class OrderAbandoned(OrderEvent):
    type: ClassVar[str] = "order.abandoned"
    summary: ClassVar[str] = (
        "Abandonment: the 2nd billing was not paid in time, the items are discarded and nothing is refunded (R11)."
    )
    unpaid_amount: Yen | None


class OrderDeadlineReminder(OrderEvent):
    type: ClassVar[str] = "order.deadline_reminder"
    summary: ClassVar[str] = (
        "A deadline is near: what happens at due_at (consequence) and, for a payment, which billing (R13)."
    )
    deadline: DeadlineKind
    rule: StrictStr
    due_at: IsoMoment
    consequence: Text
    billing_seq: BillingSeq | None
    amount: Yen | None


class OrderDeadlineMoved(OrderEvent):
    type: ClassVar[str] = "order.deadline_moved"
    summary: ClassVar[str] = (
        "Staff moved a deadline: what now happens at due_at instead of previous_due_at "
        "(and, for a payment, which billing)."
    )
    deadline: DeadlineKind
    due_at: IsoMoment
    previous_due_at: IsoMoment | None
    billing_seq: BillingSeq | None = None


class OrderStaffAlert(OrderEvent):
    type: ClassVar[str] = "order.staff_alert"
    summary: ClassVar[str] = (
        "The order needs staff before a rule acts on its own at due_at (e.g. no estimate yet): for staff "
        "and the systems that page them, never shown to the customer."
    )
    alert: StaffAlertKind
    due_at: IsoMoment
    consequence: Text


ORDER_EVENTS: tuple[type[OrderEvent], ...] = (
    OrderApplied,
    OrderEstimated,
    OrderPaymentRequested,
    OrderPaid,
    OrderPaymentRejected,
    OrderItemUpdated,
    OrderArrived,
    OrderSecondBillingIssued,
    OrderShipped,
    OrderCompleted,
    OrderDisputed,
    OrderCanceled,
    OrderAbandoned,
    OrderDeadlineReminder,
    OrderDeadlineMoved,
    OrderStaffAlert,
)
