"""Billing: estimates, the forward service's handling contact, amendments, and the 2nd billing.

R5  an estimate (or re-estimate) starts the 7-day payment clock; so does the
    handling-availability contact of a forward order.
R6  for a forward order, that contact is also the item confirmation: the
    arrival clock starts.
R4  partial cancellation and quantity changes are staff amendments that issue
    a new estimate (and so restart the payment clock).
R11 the 2nd billing is due by the abandonment deadline, which started when the
    items arrived at the warehouse.
R12 one-time plan: a single billing with everything; two-time plan: 1st billing
    (items, domestic shipping, fees), 2nd billing (international shipping, extras).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts import orders as events
from workflows.models import (
    AmendItemsRequest,
    Billing,
    BillingKind,
    BillingLine,
    BillingStatus,
    ConfirmHandlingRequest,
    DeadlineKind,
    EstimateRequest,
    ExtraCharge,
    ItemStatus,
    LineKind,
    OrderStatus,
    PaymentPlan,
    SecondBillingRequest,
    ServiceType,
)
from workflows.order_state import Order, billing_snapshot, iso
from workflows.refusals import Refusal, refuse


def estimate(order: Order, request: EstimateRequest, now: datetime, actor: str) -> None:
    """Estimate or re-estimate the first billing (R5 starts or restarts the payment clock)."""
    order.require_status(OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT, operation="estimate")
    if order.service_type is ServiceType.FORWARD:
        if order.status is OrderStatus.APPLIED:
            refuse(Refusal.WRONG_STATUS, "a forward order is first estimated by confirm_handling")
        if request.unit_prices or request.domestic_shipping:
            refuse(Refusal.INVALID_REQUEST, "a forward order bills no item prices or domestic shipping")
    for item_id, unit_price in request.unit_prices.items():
        item = order.item(item_id)
        if item not in order.live_items:
            refuse(Refusal.WRONG_ITEM_STATUS, f"item {item_id} is {item.status.value}")
        item.unit_price = unit_price
    lines = first_billing_lines(
        order,
        domestic_shipping=request.domestic_shipping,
        service_fee=request.service_fee,
        international_shipping=request.international_shipping,
        extras=request.extras,
    )
    issue_first_billing(order, lines, now, actor, contact="estimate")


def confirm_handling(order: Order, request: ConfirmHandlingRequest, now: datetime, actor: str) -> None:
    """Forward service: we can handle the items (R5 payment clock, R6 arrival clock start)."""
    if order.service_type is not ServiceType.FORWARD:
        refuse(Refusal.WRONG_SERVICE, "confirm_handling is for forward orders; estimate a purchase order")
    order.require_status(OrderStatus.APPLIED, operation="confirm_handling (use estimate to re-estimate)")
    lines = first_billing_lines(
        order,
        domestic_shipping=0,
        service_fee=request.service_fee,
        international_shipping=request.international_shipping,
        extras=request.extras,
    )
    issue_first_billing(order, lines, now, actor, contact="handling_availability")
    if any(item.status is not ItemStatus.ARRIVED for item in order.live_items):
        arrival = order.start_deadline(DeadlineKind.ARRIVAL, now, order.policy.arrival_due_after, remind=True)
        order.record(now, actor, "items confirmed", f"the items must arrive by {iso(arrival.due_at)} (R6)")


def amend_items(order: Order, request: AmendItemsRequest, now: datetime, actor: str) -> None:
    """Partial cancellation or quantity change before any payment; a new estimate follows (R4)."""
    order.require_status(OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT, operation="amend_items")
    if order.charge_in_flight:
        refuse(Refusal.PAYMENT_IN_PROGRESS, "a payment is being charged; wait for its result")
    for change in request.changes:
        item = order.item(change.item_id)
        if item not in order.live_items:
            refuse(Refusal.WRONG_ITEM_STATUS, f"item {item.item_id} is {item.status.value}")
        if change.quantity == 0:
            item.status = ItemStatus.CANCELED
        else:
            item.quantity = change.quantity
        if change.unit_price is not None:
            item.unit_price = change.unit_price
        order.emit(
            events.OrderItemUpdated(
                **order.head(),
                item_id=item.item_id,
                name=item.name,
                item_status=item.status.value,
                quantity=item.quantity,
            )
        )
        order.record(now, actor, "item amended", f"item {item.item_id}: {item.status.value}, quantity {item.quantity}")
    if not order.live_items:
        refuse(Refusal.INVALID_REQUEST, "an amendment cannot cancel every item; cancel the order instead")
    previous = order.billing(1)
    if previous is None:
        return
    fees = _PreviousFees(previous)
    lines = first_billing_lines(
        order,
        domestic_shipping=fees.domestic_shipping if request.domestic_shipping is None else request.domestic_shipping,
        service_fee=fees.service_fee if request.service_fee is None else request.service_fee,
        international_shipping=(
            fees.international_shipping if request.international_shipping is None else request.international_shipping
        ),
        extras=fees.extras if request.extras is None else request.extras,
    )
    issue_first_billing(order, lines, now, actor, contact="amendment")


def issue_second_billing(order: Order, request: SecondBillingRequest, now: datetime, actor: str) -> None:
    """Two-time plan: international shipping and extras, once the items are packed (R12, R11)."""
    if order.payment_plan is not PaymentPlan.TWO_TIME:
        refuse(Refusal.WRONG_PLAN, "the one-time plan has no 2nd billing")
    order.require_status(
        OrderStatus.AT_WAREHOUSE, OrderStatus.AWAITING_SECOND_PAYMENT, operation="issue_second_billing"
    )
    previous = order.billing(2)
    _require_revisable(previous)
    method = f" ({request.shipping_method})" if request.shipping_method else ""
    lines = [
        BillingLine(
            kind=LineKind.INTERNATIONAL_SHIPPING,
            description=f"International shipping{method}",
            amount=request.international_shipping,
        ),
        *_extra_lines(request.extras),
    ]
    billing = _replace_billing(order, 2, BillingKind.SECOND, lines, now)
    order.status = OrderStatus.AWAITING_SECOND_PAYMENT
    if request.shipping_method:
        order.shipping_method = request.shipping_method  # shown at order level from now on, not only in a line
    abandonment = order.deadline(DeadlineKind.ABANDONMENT)
    if abandonment is not None:
        # The customer always gets the reminder period to pay a 2nd billing issued late.
        latest = now + order.policy.reminder_before
        if abandonment.due_at < latest:
            order.move_deadline(abandonment, latest, now, abandonment.moved_by)  # order.second_billing_issued says it
    due = abandonment.due_at if abandonment else None
    order.record(now, actor, "2nd billing issued", f"revision {billing.revision}: {billing.total} yen, due {iso(due)}")
    order.emit(events.OrderSecondBillingIssued(**order.head(), billing=billing_snapshot(billing), due_at=due))


# ---------------------------------------------------------------------- building blocks


def first_billing_lines(
    order: Order,
    *,
    domestic_shipping: int,
    service_fee: int,
    international_shipping: int | None,
    extras: Sequence[ExtraCharge],
) -> list[BillingLine]:
    """The lines of the first (or single) billing, by service type and payment plan (R12)."""
    lines: list[BillingLine] = []
    if order.service_type is ServiceType.PURCHASE:
        lines += [
            BillingLine(
                kind=LineKind.ITEM,
                description=f"{item.name} x {item.quantity}",
                amount=item.unit_price * item.quantity,
                item_id=item.item_id,
            )
            for item in order.live_items
        ]
        if domestic_shipping:
            lines.append(
                BillingLine(kind=LineKind.DOMESTIC_SHIPPING, description="Domestic shipping", amount=domestic_shipping)
            )
    if service_fee:
        lines.append(BillingLine(kind=LineKind.SERVICE_FEE, description="Service fee", amount=service_fee))
    if order.payment_plan is PaymentPlan.ONE_TIME:
        if international_shipping is None:
            refuse(Refusal.INVALID_REQUEST, "the single billing of the one-time plan includes international_shipping")
        lines.append(
            BillingLine(
                kind=LineKind.INTERNATIONAL_SHIPPING,
                description="International shipping",
                amount=international_shipping,
            )
        )
    elif international_shipping is not None:
        refuse(Refusal.INVALID_REQUEST, "on the two-time plan international shipping belongs to the 2nd billing")
    return lines + _extra_lines(extras)


def issue_first_billing(order: Order, lines: list[BillingLine], now: datetime, actor: str, *, contact: str) -> None:
    """Issue billing 1 (or its next revision): the order awaits payment for 7 days (R5)."""
    _require_revisable(order.billing(1))
    kind = BillingKind.SINGLE if order.payment_plan is PaymentPlan.ONE_TIME else BillingKind.FIRST
    billing = _replace_billing(order, 1, kind, lines, now)
    order.end_deadline(DeadlineKind.ESTIMATE)  # R14 is met
    order.status = OrderStatus.AWAITING_PAYMENT
    deadline = order.start_deadline(DeadlineKind.PAYMENT, now, order.policy.payment_due_after, remind=True)
    action = "estimated" if billing.revision == 1 else "re-estimated"
    order.record(
        now, actor, action, f"billing 1 revision {billing.revision}: {billing.total} yen, pay by {iso(deadline.due_at)}"
    )
    order.emit(
        events.OrderEstimated(
            **order.head(),
            billing=billing_snapshot(billing),
            due_at=deadline.due_at,
            contact=contact,
            re_estimate=billing.revision > 1,
        )
    )


def _require_revisable(billing: Billing | None) -> None:
    if billing is None:
        return
    if billing.status is BillingStatus.CHARGING:
        refuse(Refusal.PAYMENT_IN_PROGRESS, f"billing {billing.seq} is being charged; wait for its result")
    if billing.status is not BillingStatus.AWAITING_PAYMENT:
        refuse(Refusal.BILLING_NOT_PAYABLE, f"billing {billing.seq} is {billing.status.value}; it cannot be revised")


def _replace_billing(order: Order, seq: int, kind: BillingKind, lines: list[BillingLine], now: datetime) -> Billing:
    previous = order.billing(seq)
    billing = Billing(
        seq=seq,
        kind=kind,
        revision=previous.revision + 1 if previous else 1,
        lines=lines,
        total=sum(line.amount for line in lines),
        issued_at=now,
    )
    _within_ceiling(order, billing)
    order.billings = sorted([b for b in order.billings if b.seq != seq] + [billing], key=lambda b: b.seq)
    return billing


def _within_ceiling(order: Order, billing: Billing) -> None:
    """The order's billings never add up past its ceiling (and so never past what JSON carries exactly)."""
    others = sum(b.total for b in order.billings if b.seq != billing.seq and b.status is not BillingStatus.CANCELED)
    ceiling = order.policy.max_order_total
    if others + billing.total > ceiling:
        refuse(
            Refusal.INVALID_REQUEST,
            f"billing {billing.seq} of {billing.total} yen would bill the order {others + billing.total} yen, "
            f"over its ceiling of {ceiling} yen",
        )


def _extra_lines(extras: Sequence[ExtraCharge]) -> list[BillingLine]:
    return [BillingLine(kind=LineKind.EXTRA, description=e.description, amount=e.amount) for e in extras]


class _PreviousFees:
    """The fee lines of an earlier revision, kept when an amendment does not restate them."""

    def __init__(self, billing: Billing) -> None:
        def total(kind: LineKind) -> int:
            return sum(line.amount for line in billing.lines if line.kind is kind)

        self.domestic_shipping = total(LineKind.DOMESTIC_SHIPPING)
        self.service_fee = total(LineKind.SERVICE_FEE)
        has_international = any(line.kind is LineKind.INTERNATIONAL_SHIPPING for line in billing.lines)
        self.international_shipping = total(LineKind.INTERNATIONAL_SHIPPING) if has_international else None
        self.extras = [
            ExtraCharge(description=line.description, amount=line.amount)
            for line in billing.lines
            if line.kind is LineKind.EXTRA
        ]
