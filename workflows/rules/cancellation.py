"""Cancellation (R4, R10): by the customer before any payment, or by staff with a full refund.

R4  the customer may cancel the whole order any time before any payment,
    never after one (the refusal says why; partial changes go by message).
R10 staff cancel when the agency cannot purchase or forward (``cannot_handle``)
    or for any other reason (``cancel_order``): everything paid and not yet
    refunded goes back to the deposit.
"""

from __future__ import annotations

from datetime import datetime

from contracts import orders as events
from workflows.models import (
    CancelReason,
    CannotHandleRequest,
    CustomerCancelRequest,
    OrderStatus,
    StaffCancelRequest,
)
from workflows.order_state import Order
from workflows.refusals import Refusal, refuse

_AFTER_SHIPMENT = (OrderStatus.SHIPPED, OrderStatus.DISPUTED)


def customer_cancel(order: Order, request: CustomerCancelRequest, now: datetime, actor: str) -> None:
    """R4: allowed before any payment, refused after one."""
    order.require_open()
    paid = [b for b in order.billings if b.paid_at is not None]
    if paid:
        refuse(
            Refusal.PAYMENT_ALREADY_MADE,
            f"the order cannot be canceled after a payment (billing {paid[0].seq} was paid); "
            "to change it, send a message to the agency",
        )
    if order.charge_in_flight:
        refuse(Refusal.PAYMENT_IN_PROGRESS, "a payment is being charged; the order cannot be canceled now")
    order.require_status(OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT, operation="cancel")
    cancel_with_refund(order, CancelReason.CUSTOMER_REQUEST, request.reason or "requested by the customer", now, actor)


def cannot_handle(order: Order, request: CannotHandleRequest, now: datetime, actor: str) -> None:
    """R10: the agency cannot purchase or forward; anything paid is refunded."""
    _require_cancelable_by_staff(order)
    cancel_with_refund(order, CancelReason.UNAVAILABLE, request.reason, now, actor)


def staff_cancel(order: Order, request: StaffCancelRequest, now: datetime, actor: str) -> None:
    """R10: staff cancel the order for any other reason; everything paid is refunded."""
    _require_cancelable_by_staff(order)
    cancel_with_refund(order, CancelReason.STAFF, request.reason, now, actor)


def cancel_with_refund(order: Order, reason: CancelReason, detail: str, now: datetime, actor: str) -> None:
    """Close the order as canceled and give back all the money it still holds."""
    refund = order.request_refund(order.refundable, f"canceled:{reason.value}", now)
    refunded = refund.amount if refund else 0
    order.close(OrderStatus.CANCELED, now, reason)
    order.record(now, actor, "canceled", f"{reason.value}: {detail}; refund {refunded} yen")
    order.emit(events.OrderCanceled(**order.head(), reason=reason.value, detail=detail, refund_amount=refunded))


def _require_cancelable_by_staff(order: Order) -> None:
    order.require_open()
    if order.status in _AFTER_SHIPMENT:
        refuse(Refusal.WRONG_STATUS, "the order has shipped; settle problems with resolve_dispute")
