"""Forward service: the customer's domestic tracking numbers, which may come after the application.

Customers often apply before the shop has shipped: an item may be applied for
without its domestic tracking number, and the customer adds it (update
``add_tracking``) any time until the item has arrived at the warehouse. Staff
see it on the item and in the history; a number given again replaces the
earlier one (a typo corrected).
"""

from __future__ import annotations

from datetime import datetime

from workflows.models import AddTrackingRequest, ItemStatus, OrderStatus, ServiceType
from workflows.order_state import Order
from workflows.refusals import Refusal, refuse

_BEFORE_ARRIVAL = (OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_ARRIVAL)


def add_tracking(order: Order, request: AddTrackingRequest, now: datetime, actor: str) -> None:
    """The customer gives (or corrects) an item's domestic tracking number while it is on its way to us."""
    if order.service_type is not ServiceType.FORWARD:
        refuse(Refusal.WRONG_SERVICE, "only forward items have a domestic tracking number from the customer")
    order.require_status(*_BEFORE_ARRIVAL, operation="add_tracking")
    item = order.item(request.item_id)
    if item.status is not ItemStatus.REQUESTED:
        refuse(
            Refusal.WRONG_ITEM_STATUS, f"item {item.item_id} is {item.status.value}; its number can no longer change"
        )
    before = item.domestic_tracking_number
    item.domestic_tracking_number = request.domestic_tracking_number
    was = f" (was {before})" if before else ""
    order.record(now, actor, "tracking number added", f"item {item.item_id}: {request.domestic_tracking_number}{was}")
