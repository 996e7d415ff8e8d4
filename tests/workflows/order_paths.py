"""Every path an order can take, driven end to end: for the replay histories and the path tests.

Each path starts one order, plays staff, customer and deposits, lets time run
to the end (time-skipping server) and returns the final view. Together they
visit every rule, every staff operation (update and signal), every deposit
answer and every way an order closes, so replaying their recorded histories
guards the determinism of all of the workflow's code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from tests.workflows.order_harness import OrderHandle, Shop, application
from workflows.models import (
    AddTrackingRequest,
    AmendItemsRequest,
    CannotHandleRequest,
    ConfirmHandlingRequest,
    CustomerCancelRequest,
    EstimateRequest,
    ExtraCharge,
    ItemArrivedRequest,
    ItemChange,
    ItemPurchasedRequest,
    ItemUnavailableRequest,
    MoveDeadlineRequest,
    OrderPolicy,
    OrderView,
    PayBillingRequest,
    PaymentPlan,
    ReceptionOutcome,
    ReceptionReportRequest,
    ResolveDisputeRequest,
    SecondBillingRequest,
    ServiceType,
    ShipRequest,
    StaffCancelRequest,
)
from workflows.order_workflow import REJECTED_SIGNALS_KEPT, SIGNAL_PAYLOAD_CAP

SHIPMENT = ShipRequest(method="EMS", carrier="Japan Post", tracking_numbers=["EM123456789JP"], actor="kenji")


async def purchase_to_warehouse(shop: Shop, handle: OrderHandle, *, one_time: bool = False) -> OrderView:
    """Estimate, pay billing 1, buy and receive both items."""
    estimate = EstimateRequest(
        unit_prices={"1": 3200},
        domestic_shipping=800,
        service_fee=500,
        actor="yuki",
        international_shipping=2400 if one_time else None,
    )
    await shop.staff(handle, "estimate", estimate)
    await shop.pay(handle, 1)
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id=item_id, actor="yuki"))
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id=item_id, actor="kenji"))
    return await shop.view(handle)


async def second_billing_paid(shop: Shop, handle: OrderHandle) -> OrderView:
    second = SecondBillingRequest(
        international_shipping=2400, extras=[ExtraCharge(description="Packing", amount=300)], shipping_method="EMS"
    )
    await shop.staff(handle, "issue_second_billing", second)
    return await shop.pay(handle, 2)


async def purchase_two_time_received(shop: Shop, order_id: str) -> OrderView:
    """R12 two-time purchase: both billings paid, shipped, reception report (R7)."""
    handle = await shop.apply(application(order_id))
    await purchase_to_warehouse(shop, handle)
    await second_billing_paid(shop, handle)
    await shop.staff(handle, "ship", SHIPMENT)
    await shop.customer(handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED))
    return await shop.result(handle)


async def purchase_one_time_completes_by_itself(shop: Shop, order_id: str) -> OrderView:
    """R12 one-time purchase, shipped, no reception report: completes after 50 days (R7)."""
    handle = await shop.apply(application(order_id, plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)
    await shop.staff(handle, "ship", SHIPMENT)
    return await shop.result(handle)


async def forward_two_time_dispute(shop: Shop, order_id: str) -> OrderView:
    """Forward two-time: handling contact, arrival, 2nd billing, problem report, refund (R8)."""
    handle = await shop.apply(application(order_id, service=ServiceType.FORWARD))
    await shop.staff(handle, "confirm_handling", ConfirmHandlingRequest(service_fee=1000, actor="yuki"))
    await shop.pay(handle, 1)
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id=item_id))
    await second_billing_paid(shop, handle)
    await shop.staff(handle, "ship", SHIPMENT)
    problem = ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM, comment="the figure is broken")
    await shop.customer(handle, "report_reception", problem)
    await shop.staff(handle, "resolve_dispute", ResolveDisputeRequest(refund_amount=1500, resolution="half refunded"))
    await shop.answer_deposit(handle)
    return await shop.result(handle)


async def forward_one_time_items_never_arrive(shop: Shop, order_id: str) -> OrderView:
    """Forward one-time, paid, items never arrive: canceled after 30 days, fee refunded (R6)."""
    handle = await shop.apply(application(order_id, service=ServiceType.FORWARD, plan=PaymentPlan.ONE_TIME))
    confirm = ConfirmHandlingRequest(service_fee=1000, international_shipping=2000)
    await shop.staff(handle, "confirm_handling", confirm)
    await shop.pay(handle, 1)
    await shop.sleep(timedelta(days=30, minutes=1))
    await shop.until_event(handle, "order.canceled")
    await shop.answer_deposit(handle)
    return await shop.result(handle)


async def unpaid_re_estimate_times_out(shop: Shop, order_id: str) -> OrderView:
    """Estimate, re-estimate 3 days later, never paid: canceled 7 days after the re-estimate (R5, R13)."""
    handle = await shop.apply(application(order_id))
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800))
    await shop.sleep(timedelta(days=3))
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=600, service_fee=500))
    return await shop.result(handle)


async def customer_cancels_before_paying(shop: Shop, order_id: str) -> OrderView:
    """R4: the customer cancels an estimated order."""
    handle = await shop.apply(application(order_id))
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800))
    await shop.customer(handle, "cancel", CustomerCancelRequest(reason="found it cheaper"))
    return await shop.result(handle)


async def staff_cancel_after_payment(shop: Shop, order_id: str) -> OrderView:
    """R10: staff cancel a paid order; everything paid is refunded."""
    handle = await shop.apply(application(order_id))
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800, service_fee=500))
    await shop.pay(handle, 1)
    await shop.staff(handle, "cancel_order", StaffCancelRequest(reason="shop closed", actor="yuki"))
    await shop.answer_deposit(handle)
    return await shop.result(handle)


async def second_billing_unpaid_abandons(shop: Shop, order_id: str) -> OrderView:
    """R11: the 2nd billing is never paid: the items are abandoned, nothing refunded."""
    handle = await shop.apply(application(order_id))
    await purchase_to_warehouse(shop, handle)
    await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    return await shop.result(handle)


async def web_ui_signals_everything(shop: Shop, order_id: str) -> OrderView:
    """Staff work through signals only, with mistakes: malformed and refused signals, a rejected
    charge, a duplicated deposit event, an amendment, a moved deadline, an unavailable item."""
    handle = await shop.apply(application(order_id))
    await shop.signal(handle, "estimate", {"domestic_shipping": "a lot"})  # malformed: recorded, ignored
    await shop.signal(handle, "ship", SHIPMENT.model_dump())  # refused: not preparing shipment
    await shop.signal(handle, "estimate", {"domestic_shipping": 800, "service_fee": 500, "actor": "yuki"})
    await shop.signal(handle, "amend_items", {"changes": [{"item_id": "1", "quantity": 3}]})
    await shop.signal(handle, "move_deadline", {"deadline": "payment", "shift_by": "P2D"})
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1, revision=2))
    await shop.answer_deposit(handle, reject_charges=True)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    for event in await shop.answer_deposit(handle):
        await handle.signal("deposit_event", event)  # delivered twice: applied once
    await shop.signal(handle, "item_purchased", {"item_id": "1"})
    await shop.signal(handle, "item_unavailable", {"item_id": "2", "reason": "sold out"})
    await shop.signal(handle, "cannot_handle", {"reason": "the shop stopped shipping", "actor": "yuki"})
    await shop.until_event(handle, "order.canceled")
    await shop.answer_deposit(handle)
    return await shop.result(handle)


async def forward_by_signals(shop: Shop, order_id: str) -> OrderView:
    """The forward two-time path with every staff step sent as a Web UI signal."""
    handle = await shop.apply(application(order_id, service=ServiceType.FORWARD))
    await shop.signal(handle, "confirm_handling", {"service_fee": 1000, "actor": "yuki"})
    await shop.pay(handle, 1)
    for item_id in ("1", "2"):
        await shop.signal(handle, "item_arrived", {"item_id": item_id, "domestic_tracking_number": f"JP-{item_id}"})
    await shop.signal(handle, "issue_second_billing", {"international_shipping": 2400, "shipping_method": "SAL"})
    await shop.pay(handle, 2)
    await shop.signal(handle, "ship", SHIPMENT.model_dump())
    await shop.customer(handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM))
    await shop.signal(handle, "resolve_dispute", {"refund_amount": 1000, "resolution": "fee waived"})
    await shop.until_event(handle, "deposit.refund_requested")
    await shop.answer_deposit(handle)
    return await shop.result(handle)


async def cancel_order_by_signal(shop: Shop, order_id: str) -> OrderView:
    """Staff cancel an order from the Web UI; a malformed deposit event on the way is recorded."""
    handle = await shop.apply(application(order_id))
    await shop.signal(handle, "deposit_event", {"type": "deposit.charged"})
    await shop.signal(handle, "cancel_order", {"reason": "customer asked by message", "actor": "kenji"})
    return await shop.result(handle)


async def forward_cannot_handle(shop: Shop, order_id: str) -> OrderView:
    """R10: staff cannot forward the items (before any billing): canceled, nothing to refund."""
    handle = await shop.apply(application(order_id, service=ServiceType.FORWARD))
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    await shop.staff(handle, "cannot_handle", CannotHandleRequest(reason="lithium batteries"))
    return await shop.result(handle)


async def moved_deadlines_and_partial_purchase(shop: Shop, order_id: str) -> OrderView:
    """Amendment before payment, item unavailable after (refunded), moved abandonment deadline (R11)."""
    handle = await shop.apply(application(order_id))
    await shop.staff(handle, "amend_items", AmendItemsRequest(changes=[ItemChange(item_id="2", quantity=2)]))
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800))
    await shop.pay(handle, 1)
    await shop.staff(handle, "item_unavailable", ItemUnavailableRequest(item_id="2", reason="sold out"))
    await shop.answer_deposit(handle)
    await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id="1"))
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    await shop.staff(handle, "move_deadline", MoveDeadlineRequest(deadline="abandonment", shift_by=timedelta(days=5)))
    await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=1800))
    return await shop.result(handle)


async def continued_as_new_mid_order(shop: Shop, order_id: str) -> OrderView:
    """The two-time purchase on runs of at most 40 events: it continues as new several times on the way,
    a deadline (R7) set in one run fires in another, and a deposit answer is delivered again after a
    continuation (applied once)."""
    handle = await shop.apply(application(order_id, policy=OrderPolicy(history_events_per_run=40)))
    await purchase_to_warehouse(shop, handle)
    await second_billing_paid(shop, handle)
    await shop.staff(handle, "ship", SHIPMENT)
    for answer in shop.delivered[-1:]:
        await shop.deliver(handle, answer)
    return await shop.result(handle)


async def oversized_and_flooded_signals(shop: Shop, order_id: str) -> OrderView:
    """Signals over the payload cap (staff and deposit), more malformed signals than the history keeps,
    stray deposit answers to nothing: all rejected or ignored, and the order is canceled by staff."""
    handle = await shop.apply(application(order_id))
    padding = "x" * (SIGNAL_PAYLOAD_CAP + 1)
    await shop.signal(handle, "estimate", {"domestic_shipping": 800, "note": padding})
    forged = {"event_id": "e-1", "type": "deposit.charged", "order_id": order_id, "billing_seq": 1, "revision": 1}
    await shop.deliver(handle, {**forged, "amount": 1, "attestation": padding})
    for n in range(REJECTED_SIGNALS_KEPT + 2):
        await shop.signal(handle, "item_arrived", {"item": str(n)})
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800))
    stray = {"order_id": order_id, "type": "deposit.charge_rejected", "billing_seq": 1, "revision": 1}
    for n in range(3):
        await shop.deliver(handle, {**stray, "event_id": f"stray-{n}"})
    await shop.signal(handle, "cancel_order", {"reason": "customer asked by message", "actor": "kenji"})
    return await shop.result(handle)


async def estimate_never_sent_times_out(shop: Shop, order_id: str) -> OrderView:
    """R14: staff mistype the signal's name (recorded as rejected, with the valid names), send a malformed
    estimate (rejected, staff part only), and never estimate: staff are alerted, then the order is canceled."""
    handle = await shop.apply(application(order_id))
    await shop.signal(handle, "estimat", {"domestic_shipping": 800})
    await shop.signal(handle, "estimate", {"domestic_shipping": "eight hundred"})
    return await shop.result(handle)


async def forward_tracking_added_later(shop: Shop, order_id: str) -> OrderView:
    """Forward one-time, applied without domestic tracking numbers: the customer adds them later; staff
    write internal notes and messages to the customer, move the payment deadline, and the order completes."""
    app = application(order_id, service=ServiceType.FORWARD, plan=PaymentPlan.ONE_TIME)
    untracked = [item.model_copy(update={"domestic_tracking_number": None}) for item in app.items]
    handle = await shop.apply(app.model_copy(update={"items": untracked}))
    await shop.customer(handle, "add_tracking", AddTrackingRequest(item_id="1", domestic_tracking_number="JP-9"))
    confirm = ConfirmHandlingRequest(
        service_fee=1000,
        international_shipping=2000,
        internal_note="batteries checked",
        message_to_customer="We can forward both items.",
        actor="yuki",
    )
    await shop.staff(handle, "confirm_handling", confirm)
    await shop.signal(
        handle, "move_deadline", {"deadline": "payment", "shift_by": "P3D", "message_to_customer": "Take your time."}
    )
    await shop.customer(handle, "add_tracking", AddTrackingRequest(item_id="2", domestic_tracking_number="JP-10"))
    await shop.pay(handle, 1)
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id=item_id, note="box dented"))
    await shop.staff(handle, "ship", SHIPMENT)
    report = ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED, comment="all fine, thanks")
    await shop.customer(handle, "report_reception", report)
    return await shop.result(handle)


PATHS: dict[str, Callable[[Shop, str], Awaitable[OrderView]]] = {
    "purchase_two_time_received": purchase_two_time_received,
    "purchase_one_time_completes_by_itself": purchase_one_time_completes_by_itself,
    "forward_two_time_dispute": forward_two_time_dispute,
    "forward_one_time_items_never_arrive": forward_one_time_items_never_arrive,
    "unpaid_re_estimate_times_out": unpaid_re_estimate_times_out,
    "customer_cancels_before_paying": customer_cancels_before_paying,
    "staff_cancel_after_payment": staff_cancel_after_payment,
    "second_billing_unpaid_abandons": second_billing_unpaid_abandons,
    "web_ui_signals_everything": web_ui_signals_everything,
    "forward_cannot_handle": forward_cannot_handle,
    "forward_by_signals": forward_by_signals,
    "cancel_order_by_signal": cancel_order_by_signal,
    "moved_deadlines_and_partial_purchase": moved_deadlines_and_partial_purchase,
    "continued_as_new_mid_order": continued_as_new_mid_order,
    "oversized_and_flooded_signals": oversized_and_flooded_signals,
    "estimate_never_sent_times_out": estimate_never_sent_times_out,
    "forward_tracking_added_later": forward_tracking_added_later,
}
