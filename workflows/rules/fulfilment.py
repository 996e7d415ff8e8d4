"""Fulfilment: purchase, arrival at the warehouse, shipment, reception report, dispute.

R10 an item the agency cannot buy is refunded; if no item is left, the order
    is canceled as unavailable (everything still held is refunded).
R6  a forward order's arrival clock stops when every item has arrived.
R11 on the two-time plan, arrival at the warehouse starts the abandonment clock.
R7  shipment starts the 50-day completion clock; a reception report completes
    the order at once.
R8  a problem report opens a dispute; staff resolve it with a refund of any
    amount up to what was paid (and not refunded yet), and the order completes.
"""

from __future__ import annotations

from datetime import datetime

from contracts import orders as events
from workflows.models import (
    CancelReason,
    DeadlineKind,
    Dispute,
    Item,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemStatus,
    ItemUnavailableRequest,
    OrderStatus,
    PaymentPlan,
    ReceptionOutcome,
    ReceptionReportRequest,
    ResolveDisputeRequest,
    ServiceType,
    Shipment,
    ShipRequest,
)
from workflows.order_state import Order, iso
from workflows.refusals import Refusal, refuse
from workflows.rules.cancellation import cancel_with_refund

_FORWARD_RECEIVING = (OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_ARRIVAL)


def item_purchased(order: Order, request: ItemPurchasedRequest, now: datetime, actor: str) -> None:
    """Purchase service: the agency bought the item."""
    if order.service_type is not ServiceType.PURCHASE:
        refuse(Refusal.WRONG_SERVICE, "forward items are bought by the customer")
    order.require_status(OrderStatus.PURCHASING, operation="item_purchased")
    item = order.item(request.item_id)
    _require_item(item.status, ItemStatus.REQUESTED, item.item_id)
    item.status = ItemStatus.PURCHASED  # staff's note goes to the staff part (operations), not items[].note
    order.record(now, actor, "item purchased", f"item {item.item_id}: {item.name}")
    order.emit(_item_updated(order, item))


def item_unavailable(order: Order, request: ItemUnavailableRequest, now: datetime, actor: str) -> None:
    """The item cannot be bought (or will not come): refund its price (R10)."""
    receiving = OrderStatus.PURCHASING if order.service_type is ServiceType.PURCHASE else OrderStatus.AWAITING_ARRIVAL
    order.require_status(receiving, operation="item_unavailable")
    item = order.item(request.item_id)
    _require_item(item.status, (ItemStatus.REQUESTED, ItemStatus.PURCHASED), item.item_id)
    item.status = ItemStatus.UNAVAILABLE
    item.note = request.reason
    price = item.unit_price * item.quantity if order.service_type is ServiceType.PURCHASE else 0
    refund = order.request_refund(min(price, order.refundable), "item_unavailable", now)
    refunded = refund.amount if refund else 0
    order.record(now, actor, "item unavailable", f"item {item.item_id}: {request.reason}; refund {refunded} yen")
    order.emit(
        events.OrderItemUpdated(
            **order.head(), item_id=item.item_id, name=item.name, item_status=item.status.value, refund_amount=refunded
        )
    )
    _after_item_change(order, now, actor)


def item_arrived(order: Order, request: ItemArrivedRequest, now: datetime, actor: str) -> None:
    """An item reached the warehouse; when all have, the order moves on."""
    item = order.item(request.item_id)
    if order.service_type is ServiceType.PURCHASE:
        order.require_status(OrderStatus.PURCHASING, operation="item_arrived")
        _require_item(item.status, ItemStatus.PURCHASED, item.item_id)
    else:
        order.require_status(*_FORWARD_RECEIVING, operation="item_arrived")
        _require_item(item.status, ItemStatus.REQUESTED, item.item_id)
    item.status = ItemStatus.ARRIVED
    item.domestic_tracking_number = request.domestic_tracking_number or item.domestic_tracking_number
    order.record(now, actor, "item arrived", f"item {item.item_id}: {item.name}")
    order.emit(_item_updated(order, item))
    _after_item_change(order, now, actor)


def all_items_at_warehouse(order: Order, now: datetime) -> None:
    """Everything is here: pack and bill the shipping (two-time), or prepare the shipment."""
    order.end_deadline(DeadlineKind.ARRIVAL)
    detail = "all items are at the warehouse"
    if order.payment_plan is PaymentPlan.TWO_TIME:
        order.status = OrderStatus.AT_WAREHOUSE
        abandon = order.start_deadline(DeadlineKind.ABANDONMENT, now, order.policy.abandon_after, remind=True)
        detail += f"; the 2nd billing must be paid by {iso(abandon.due_at)} (R11)"
        order.emit(events.OrderArrived(**order.head(), abandon_due_at=abandon.due_at))
    else:
        order.status = OrderStatus.PREPARING_SHIPMENT
        order.emit(events.OrderArrived(**order.head()))
    order.record(now, "system", "arrived", detail)


def ship(order: Order, request: ShipRequest, now: datetime, actor: str) -> None:
    """The parcel left Japan: the customer may report reception; 50 days later it completes (R7)."""
    order.require_status(OrderStatus.PREPARING_SHIPMENT, operation="ship")
    order.shipment = Shipment(
        method=request.method, carrier=request.carrier, tracking_numbers=list(request.tracking_numbers), shipped_at=now
    )
    order.shipping_method = request.method
    order.status = OrderStatus.SHIPPED
    completion = order.start_deadline(DeadlineKind.COMPLETION, now, order.policy.completion_after, remind=False)
    numbers = ", ".join(request.tracking_numbers)
    order.record(now, actor, "shipped", f"{request.method} by {request.carrier}: {numbers}")
    order.emit(
        events.OrderShipped(
            **order.head(),
            method=request.method,
            carrier=request.carrier,
            tracking_numbers=list(request.tracking_numbers),
            completes_at=completion.due_at,
        )
    )


def report_reception(order: Order, request: ReceptionReportRequest, now: datetime, actor: str) -> None:
    """R7: received fine completes the order; R8: a problem opens a dispute."""
    order.require_status(OrderStatus.SHIPPED, operation="report_reception")
    order.end_deadline(DeadlineKind.COMPLETION)
    if request.outcome is ReceptionOutcome.RECEIVED:
        order.close(OrderStatus.COMPLETED, now)
        comment = f"; comment: {request.comment}" if request.comment else ""
        order.record(now, actor, "completed", f"reception report: received fine{comment}")
        order.emit(events.OrderCompleted(**order.head(), completed_by="reception_report"))
        return
    order.status = OrderStatus.DISPUTED
    order.dispute = Dispute(opened_at=now, description=request.comment)
    order.record(now, actor, "dispute opened", request.comment or "problem reported")
    order.emit(events.OrderDisputed(**order.head(), description=request.comment))


def resolve_dispute(order: Order, request: ResolveDisputeRequest, now: datetime, actor: str) -> None:
    """R8: refund any amount up to what was paid (or none), then the order completes."""
    order.require_status(OrderStatus.DISPUTED, operation="resolve_dispute")
    if request.refund_amount > order.refundable:
        refuse(
            Refusal.REFUND_EXCEEDS_PAID,
            f"at most {order.refundable} yen can be refunded "
            f"(paid {order.paid_total}, refunded {order.refunded_total})",
        )
    order.request_refund(request.refund_amount, "dispute", now)
    dispute = order.dispute or Dispute(opened_at=now)
    dispute.resolved_at = now
    dispute.refund_amount = request.refund_amount
    dispute.resolution = request.resolution
    order.dispute = dispute
    order.close(OrderStatus.COMPLETED, now)
    order.record(now, actor, "dispute resolved", f"{request.resolution}; refund {request.refund_amount} yen")
    order.emit(
        events.OrderCompleted(**order.head(), completed_by="dispute_resolution", refund_amount=request.refund_amount)
    )


def _item_updated(order: Order, item: Item) -> events.OrderItemUpdated:
    """An item changed status (purchased, arrived): which item, by its name."""
    return events.OrderItemUpdated(**order.head(), item_id=item.item_id, name=item.name, item_status=item.status.value)


def _after_item_change(order: Order, now: datetime, actor: str) -> None:
    """Cancel when nothing is left; move on when everything left has arrived."""
    if not order.live_items:
        cancel_with_refund(order, CancelReason.UNAVAILABLE, "none of the items can be handled", now, actor)
        return
    if any(item.status is not ItemStatus.ARRIVED for item in order.live_items):
        return
    if order.status in (OrderStatus.PURCHASING, OrderStatus.AWAITING_ARRIVAL):
        all_items_at_warehouse(order, now)
    else:  # a forward order's items came before its payment: R6 is met, the payment decides the rest
        order.end_deadline(DeadlineKind.ARRIVAL)


def _require_item(status: ItemStatus, allowed: ItemStatus | tuple[ItemStatus, ...], item_id: str) -> None:
    expected = allowed if isinstance(allowed, tuple) else (allowed,)
    if status not in expected:
        refuse(Refusal.WRONG_ITEM_STATUS, f"item {item_id} is {status.value}")
