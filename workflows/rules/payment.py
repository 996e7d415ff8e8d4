"""Payment through the deposit: the customer pays a billing, the deposit answers (R9, R12).

The order never moves money itself. Paying a billing asks the customer's
deposit for a charge (idempotency key ``charge:<order>:<seq>:<revision>``, so
asking twice charges once); the deposit's answer arrives as a deposit event,
de-duplicated by its event id. Money that arrives for something the order no
longer asks for (a canceled order, a revised billing) goes straight back to
the deposit: the order never keeps money it has no billing for.
"""

from __future__ import annotations

from datetime import datetime

from contracts import orders as events
from workflows.models import (
    Billing,
    BillingStatus,
    ChargeRejection,
    DeadlineKind,
    DepositEvent,
    ItemStatus,
    OrderStatus,
    PayBillingRequest,
    RefundStatus,
    ServiceType,
)
from workflows.order_state import Order
from workflows.refusals import Refusal, refuse
from workflows.rules.fulfilment import all_items_at_warehouse


def pay_billing(order: Order, request: PayBillingRequest, now: datetime, actor: str) -> None:
    """The customer pays a billing from the deposit: ask the deposit for the charge."""
    order.require_open()
    billing = order.billing(request.billing_seq)
    if billing is None:
        refuse(Refusal.BILLING_NOT_FOUND, f"order {order.order_id} has no billing {request.billing_seq} yet")
    if request.revision is not None and request.revision > billing.revision:
        refuse(
            Refusal.INVALID_REQUEST,
            f"billing {billing.seq} has no revision {request.revision}: its current revision is "
            f"{billing.revision} ({billing.total} yen)",
        )
    if request.revision is not None and request.revision != billing.revision:
        refuse(
            Refusal.BILLING_REVISED,
            f"billing {billing.seq} was revised (revision {billing.revision}, {billing.total} yen); "
            "review it and pay again",
        )
    if billing.status is BillingStatus.CHARGING:
        refuse(Refusal.PAYMENT_IN_PROGRESS, f"billing {billing.seq} is already being charged")
    if billing.status is not BillingStatus.AWAITING_PAYMENT:
        refuse(Refusal.BILLING_NOT_PAYABLE, f"billing {billing.seq} is {billing.status.value}")
    if billing.total == 0:  # nothing to charge: the deposit only moves positive amounts
        billing.status = BillingStatus.PAID
        billing.paid_at = now
        billing.paid_amount = 0
        billing.last_rejection = None
        order.record(now, actor, "paid", f"billing {billing.seq}: nothing to charge")
        _after_payment(order, billing, now)
        return
    order.request_charge(billing, now)
    order.record(
        now, actor, "payment requested", f"billing {billing.seq} revision {billing.revision}: {billing.total} yen"
    )
    order.emit(
        events.OrderPaymentRequested(
            **order.head(), billing_seq=billing.seq, revision=billing.revision, amount=billing.total
        )
    )


def deposit_result(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    """Apply the deposit's answer once, however many times it is delivered."""
    if event.order_id != order.order_id:
        refuse(Refusal.INVALID_REQUEST, f"deposit event {event.event_id} is for order {event.order_id}")
    if event.event_id in order.seen_deposit_events:
        return
    order.seen_deposit_events.append(event.event_id)
    if event.type == "deposit.charged":
        _charged(order, event, now, actor)
    elif event.type == "deposit.charge_rejected":
        _charge_rejected(order, event, now, actor)
    else:
        _refund_answered(order, event, now, actor)


def deposit_answer(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    """``deposit_result``, remembering the answer's id only if it changed the order.

    An answer to nothing the order waits for (a charge already paid reported
    again, a rejection of no charge in flight, a refund answer for no refund
    asked) is ignored, and would be ignored again: remembering its id serves no
    one, and a flood of such answers under fresh ids would grow the state
    without bound. Every answer that acts records a history entry.
    """
    if event.event_id in order.seen_deposit_events:
        return
    happened = len(order.history)
    deposit_result(order, event, now, actor)
    if len(order.history) == happened:
        order.seen_deposit_events.remove(event.event_id)


def _charged(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    billing = order.billing(event.billing_seq or 0)
    if billing is None or billing.revision != event.revision:
        _return_unbilled_charge(order, event, now, actor)
    elif billing.status is BillingStatus.PAID:
        return  # the same charge, reported again under another event id
    elif billing.status is BillingStatus.CHARGING or (
        billing.status is BillingStatus.AWAITING_PAYMENT and not order.closed
    ):  # awaiting again after a rejection: a redelivered charge request went through after all
        _billing_paid(order, billing, event.amount, now, actor)
    else:
        _return_unbilled_charge(order, event, now, actor)


def _billing_paid(order: Order, billing: Billing, amount: int, now: datetime, actor: str) -> None:
    billing.status = BillingStatus.PAID
    billing.paid_at = now
    billing.paid_amount = amount
    billing.last_rejection = None  # paid: an earlier rejection no longer describes the billing
    order.record(now, actor, "paid", f"billing {billing.seq}: {amount} yen charged to the deposit")
    if order.closed:  # canceled by staff while the charge was travelling: give it back
        order.request_refund(amount, "order_closed", now)
        order.record(now, "system", "refund requested", f"{amount} yen: the order was already {order.status.value}")
        return
    _after_payment(order, billing, now)


def _return_unbilled_charge(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    """Money for a billing revision the order no longer asks for goes straight back."""
    detail = f"{event.amount} yen for billing {event.billing_seq} revision {event.revision}; returned"
    order.record(now, actor, "unexpected charge", detail)
    order.request_refund(event.amount, "charge_not_applicable", now, unbilled=True)


def _after_payment(order: Order, billing: Billing, now: datetime) -> None:
    """A paid billing moves the order on: to purchasing, awaiting arrival, or preparing shipment."""
    if billing.seq == 1:
        order.end_deadline(DeadlineKind.PAYMENT)
        purchase = order.service_type is ServiceType.PURCHASE
        order.status = OrderStatus.PURCHASING if purchase else OrderStatus.AWAITING_ARRIVAL
    else:
        order.end_deadline(DeadlineKind.ABANDONMENT)
        order.status = OrderStatus.PREPARING_SHIPMENT
    order.emit(
        events.OrderPaid(**order.head(), billing_seq=billing.seq, revision=billing.revision, amount=billing.paid_amount)
    )
    arrived = all(item.status is ItemStatus.ARRIVED for item in order.live_items)
    if order.status is OrderStatus.AWAITING_ARRIVAL and arrived:  # forward items came before the payment
        all_items_at_warehouse(order, now)


def _charge_rejected(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    billing = _charging_billing(order, event)
    if billing is None:
        return  # an answer to nothing this order is waiting for
    billing.status = BillingStatus.CANCELED if order.closed else BillingStatus.AWAITING_PAYMENT
    billing.last_rejection = ChargeRejection(at=now, shortfall=event.shortfall)
    shortfall = f", {event.shortfall} yen short" if event.shortfall is not None else ""
    order.record(
        now, actor, "payment rejected", f"billing {billing.seq}: the deposit cannot pay {billing.total} yen{shortfall}"
    )
    if not order.closed:
        order.emit(
            events.OrderPaymentRejected(
                **order.head(), billing_seq=billing.seq, revision=billing.revision, shortfall=event.shortfall
            )
        )


def _charging_billing(order: Order, event: DepositEvent) -> Billing | None:
    """The billing this charge answer is for, if the order is waiting for exactly that answer."""
    billing = order.billing(event.billing_seq or 0)
    if billing is None or billing.revision != event.revision or billing.status is not BillingStatus.CHARGING:
        return None
    return billing


def _refund_answered(order: Order, event: DepositEvent, now: datetime, actor: str) -> None:
    refund = next((r for r in order.refunds if r.key == event.refund_key), None)
    if refund is None or refund.status is not RefundStatus.REQUESTED:
        return
    refund.refunded_at = now
    if event.type == "deposit.refunded":
        refund.status = RefundStatus.REFUNDED
        order.record(now, actor, "refunded", f"{refund.amount} yen back to the deposit ({refund.reason})")
    else:
        refund.status = RefundStatus.REJECTED
        order.record(now, actor, "refund rejected", f"{refund.amount} yen ({refund.key}): staff must settle it by hand")
