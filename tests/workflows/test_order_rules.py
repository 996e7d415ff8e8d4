"""R1-R13 of docs/rules.md, rule by rule, on the time-skipping server: each test is named after its rule.

Durations are the real defaults (7, 30, 50 days): time skipping makes them
instant, and the tests prove the numbers the agency's help page promises.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.order_harness import ESTIMATE, Shop, application, assert_about, refusal_of
from tests.workflows.order_paths import SHIPMENT, purchase_to_warehouse, second_billing_paid
from workflows.models import (
    BillingStatus,
    CancelReason,
    CannotHandleRequest,
    ConfirmHandlingRequest,
    CustomerCancelRequest,
    CustomerOperation,
    DeadlineKind,
    EstimateRequest,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemStatus,
    ItemUnavailableRequest,
    OrderStatus,
    OrderView,
    PayBillingRequest,
    PaymentPlan,
    ReceptionOutcome,
    ReceptionReportRequest,
    RefundStatus,
    ResolveDisputeRequest,
    SecondBillingRequest,
    ServiceType,
    StaffCancelRequest,
)


def pending(view: OrderView, operation: CustomerOperation) -> list[int | None]:
    """The amounts of the customer's pending operations of one kind (R2)."""
    return [op.amount for op in view.pending_operations if op.operation is operation]


# --------------------------------------------------------------------------- R4 customer cancel


async def test_r4_customer_can_cancel_before_payment(shop: Shop) -> None:
    handle = await shop.apply(application())
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    assert pending(estimated, CustomerOperation.CANCEL) == [None]

    canceled = await shop.customer(handle, "cancel", CustomerCancelRequest(reason="found it cheaper"))

    assert canceled.status is OrderStatus.CANCELED
    assert canceled.cancel_reason is CancelReason.CUSTOMER_REQUEST
    assert canceled.pending_operations == [] and canceled.deadlines == []
    assert canceled.billings[0].status is BillingStatus.CANCELED
    final = await shop.result(handle)
    assert shop.recorder.events(final.order_id)[-1] == "order.canceled"
    assert shop.recorder.commands(final.order_id, "deposit.refund_requested") == []


async def test_r4_customer_cancel_is_refused_after_payment(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))

    with pytest.raises(WorkflowUpdateFailedError) as while_charging:
        await shop.customer(handle, "cancel", CustomerCancelRequest())
    assert refusal_of(while_charging) == "PaymentInProgress"

    await shop.answer_deposit(handle)
    paid = await shop.view(handle)
    assert paid.status is OrderStatus.PURCHASING
    assert pending(paid, CustomerOperation.CANCEL) == []
    with pytest.raises(WorkflowUpdateFailedError) as after_payment:
        await shop.customer(handle, "cancel", CustomerCancelRequest())
    assert refusal_of(after_payment) == "PaymentAlreadyMade"
    assert "cannot be canceled after a payment" in str(after_payment.value.cause)
    still = await shop.view(handle)
    assert still.status is OrderStatus.PURCHASING and still.version == paid.version


# --------------------------------------------------------------------------- R5 payment deadline


async def test_r5_unpaid_estimate_cancels_after_7_days(shop: Shop) -> None:
    handle = await shop.apply(application())
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    estimated_at = estimated.billings[0].issued_at
    assert estimated.status is OrderStatus.AWAITING_PAYMENT
    [pay] = [op for op in estimated.pending_operations if op.operation is CustomerOperation.PAY_BILLING]
    assert (pay.amount, pay.due_at) == (12300, estimated_at + timedelta(days=7))  # R2: amount and deadline

    final = await shop.result(handle)

    assert (final.status, final.cancel_reason) == (OrderStatus.CANCELED, CancelReason.PAYMENT_TIMEOUT)
    assert_about(final.closed_at, estimated_at + timedelta(days=7))
    assert shop.recorder.events(final.order_id)[-1] == "order.canceled"


async def test_r5_re_estimate_restarts_the_payment_clock(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.sleep(timedelta(days=5))
    revised = await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=600))
    re_estimated_at = revised.billings[0].issued_at
    assert revised.billings[0].revision == 2
    assert revised.deadlines[0].due_at == re_estimated_at + timedelta(days=7)

    final = await shop.result(handle)

    assert final.cancel_reason is CancelReason.PAYMENT_TIMEOUT
    assert_about(final.closed_at, re_estimated_at + timedelta(days=7))  # 12 days after the first estimate


async def test_r5_forward_order_cancels_7_days_after_the_handling_contact_without_payment(shop: Shop) -> None:
    handle = await shop.apply(application(service=ServiceType.FORWARD))
    confirmed = await shop.staff(handle, "confirm_handling", ConfirmHandlingRequest(service_fee=1000))
    assert pending(confirmed, CustomerOperation.PAY_BILLING) == [1000]

    final = await shop.result(handle)

    assert final.cancel_reason is CancelReason.PAYMENT_TIMEOUT
    assert_about(final.closed_at, confirmed.billings[0].issued_at + timedelta(days=7))


async def test_r5_a_charge_in_flight_at_the_deadline_holds_the_cancel_until_the_deposit_answers(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.sleep(timedelta(days=6, hours=23))
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))  # just in time
    await shop.sleep(timedelta(days=2))  # the deposit is slow to answer

    assert (await shop.view(handle)).status is OrderStatus.AWAITING_PAYMENT
    await shop.answer_deposit(handle)
    assert (await shop.view(handle)).status is OrderStatus.PURCHASING


async def test_r5_a_charge_rejected_after_the_deadline_cancels_at_once(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.sleep(timedelta(days=6, hours=23))
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    await shop.sleep(timedelta(days=2))

    await shop.answer_deposit(handle, reject_charges=True)
    final = await shop.result(handle)

    assert final.cancel_reason is CancelReason.PAYMENT_TIMEOUT
    assert final.history[-2].action == "payment rejected" and final.history[-1].action == "canceled"


# --------------------------------------------------------------------------- R6 forward arrival


async def test_r6_forward_order_cancels_when_its_items_do_not_arrive_in_time(shop: Shop) -> None:
    handle = await shop.apply(application(service=ServiceType.FORWARD, plan=PaymentPlan.ONE_TIME))
    confirmed = await shop.staff(
        handle, "confirm_handling", ConfirmHandlingRequest(service_fee=1000, international_shipping=2000)
    )
    await shop.pay(handle, 1)
    awaiting = await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    assert awaiting.status is OrderStatus.AWAITING_ARRIVAL  # item 2 is still on its way

    await shop.sleep(timedelta(days=30, minutes=1))
    await shop.until_event(handle, "order.canceled")
    [refund] = shop.recorder.commands(confirmed.order_id, "deposit.refund_requested")
    assert refund.data["amount"] == 3000  # the paid fees go back: the service was not rendered
    assert refund.data["idempotency_key"] == f"refund:{confirmed.order_id}:1"
    await shop.answer_deposit(handle)
    final = await shop.result(handle)

    assert final.cancel_reason is CancelReason.ARRIVAL_TIMEOUT
    assert_about(final.closed_at, confirmed.billings[0].issued_at + timedelta(days=30))
    assert final.refunds[0].status is RefundStatus.REFUNDED


async def test_r6_the_arrival_clock_stops_when_every_item_has_arrived(shop: Shop) -> None:
    handle = await shop.apply(application(service=ServiceType.FORWARD))
    await shop.staff(handle, "confirm_handling", ConfirmHandlingRequest(service_fee=1000))
    await shop.pay(handle, 1)
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    arrived = await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="2"))

    assert arrived.status is OrderStatus.AT_WAREHOUSE
    assert [d.kind for d in arrived.deadlines] == [DeadlineKind.ABANDONMENT]  # R6 done, R11 running


# --------------------------------------------------------------------------- R7 completion


async def test_r7_reception_report_completes_the_order(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)
    shipped = await shop.staff(handle, "ship", SHIPMENT)
    [report] = [op for op in shipped.pending_operations if op.operation is CustomerOperation.REPORT_RECEPTION]
    assert report.due_at == shipped.deadlines[0].due_at  # when it will complete by itself

    completed = await shop.customer(
        handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED)
    )

    assert completed.status is OrderStatus.COMPLETED and completed.deadlines == []
    final = await shop.result(handle)
    assert final.closed_at == completed.closed_at
    assert shop.recorder.messages(final.order_id, "order.completed")[0].data["completed_by"] == "reception_report"


async def test_r7_without_a_reception_report_the_order_completes_50_days_after_shipment(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)
    shipped = await shop.staff(handle, "ship", SHIPMENT)
    assert shipped.shipment is not None

    final = await shop.result(handle)

    assert final.status is OrderStatus.COMPLETED
    assert_about(final.closed_at, shipped.shipment.shipped_at + timedelta(days=50))
    assert shop.recorder.messages(final.order_id, "order.completed")[0].data["completed_by"] == "no_reception_report"


# --------------------------------------------------------------------------- R8 dispute


async def test_r8_problem_report_opens_a_dispute_whose_resolution_refunds_at_most_what_was_paid(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)  # paid 3,200 x 2 + 5,000 + 800 + 500 + 2,400
    await shop.staff(handle, "ship", SHIPMENT)
    problem = ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM, comment="the artbook is torn")
    disputed = await shop.customer(handle, "report_reception", problem)
    assert disputed.status is OrderStatus.DISPUTED and disputed.deadlines == []  # no 50-day completion now
    assert disputed.dispute is not None and disputed.dispute.description == "the artbook is torn"
    await shop.sleep(timedelta(days=60))
    assert (await shop.view(handle)).status is OrderStatus.DISPUTED
    paid = disputed.paid_total
    assert paid == 15100

    with pytest.raises(WorkflowUpdateFailedError) as too_much:
        await shop.staff(handle, "resolve_dispute", ResolveDisputeRequest(refund_amount=paid + 1, resolution="x"))
    assert refusal_of(too_much) == "RefundExceedsPaid"
    resolved = await shop.staff(
        handle, "resolve_dispute", ResolveDisputeRequest(refund_amount=5000, resolution="artbook refunded")
    )

    assert resolved.status is OrderStatus.COMPLETED
    [refund] = shop.recorder.commands(resolved.order_id, "deposit.refund_requested")
    assert refund.data["amount"] == 5000
    await shop.answer_deposit(handle)
    final = await shop.result(handle)
    assert final.refunded_total == 5000 and final.refunds[0].status is RefundStatus.REFUNDED


async def test_r8_a_dispute_can_be_resolved_without_a_refund(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)
    await shop.staff(handle, "ship", SHIPMENT)
    await shop.customer(handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM))
    resolved = await shop.staff(handle, "resolve_dispute", ResolveDisputeRequest(resolution="works as described"))
    assert resolved.status is OrderStatus.COMPLETED and resolved.refunds == []
    await shop.result(handle)


# --------------------------------------------------------------------------- R10 cancellation by staff


async def test_r10_staff_cancel_after_payment_refunds_everything_paid(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    both_paid = await second_billing_paid(shop, handle)
    assert both_paid.status is OrderStatus.PREPARING_SHIPMENT
    assert both_paid.paid_total == 12700 + 2700

    canceled = await shop.staff(handle, "cancel_order", StaffCancelRequest(reason="customs ban", actor="yuki"))

    assert (canceled.status, canceled.cancel_reason) == (OrderStatus.CANCELED, CancelReason.STAFF)
    [refund] = shop.recorder.commands(canceled.order_id, "deposit.refund_requested")
    assert refund.key == canceled.customer_id and refund.data["amount"] == 15400
    await shop.answer_deposit(handle)
    final = await shop.result(handle)
    assert final.refunded_total == final.paid_total == 15400
    assert final.history[-2].actor == "staff:yuki"


async def test_r10_cannot_handle_cancels_as_unavailable_and_refunds(shop: Shop) -> None:
    handle = await shop.apply(application(service=ServiceType.FORWARD))
    await shop.staff(handle, "confirm_handling", ConfirmHandlingRequest(service_fee=1000))
    await shop.pay(handle, 1)

    canceled = await shop.staff(handle, "cannot_handle", CannotHandleRequest(reason="lithium batteries"))

    assert canceled.cancel_reason is CancelReason.UNAVAILABLE
    assert [c.data["amount"] for c in shop.recorder.commands(canceled.order_id, "deposit.refund_requested")] == [1000]
    await shop.answer_deposit(handle)
    await shop.result(handle)


async def test_r10_an_unavailable_item_is_refunded_and_no_item_left_cancels_the_order(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.pay(handle, 1)

    first = await shop.staff(handle, "item_unavailable", ItemUnavailableRequest(item_id="1", reason="sold out"))
    assert first.status is OrderStatus.PURCHASING
    assert first.items[0].status is ItemStatus.UNAVAILABLE and first.refunded_total == 6000  # 2 x 3,000
    last = await shop.staff(handle, "item_unavailable", ItemUnavailableRequest(item_id="2", reason="discontinued"))

    assert (last.status, last.cancel_reason) == (OrderStatus.CANCELED, CancelReason.UNAVAILABLE)
    amounts = [c.data["amount"] for c in shop.recorder.commands(last.order_id, "deposit.refund_requested")]
    assert amounts == [6000, 5000, 1300]  # each item, then the fees: all 12,300 yen back
    await shop.answer_deposit(handle)
    final = await shop.result(handle)
    assert final.refunded_total == final.paid_total == 12300


# --------------------------------------------------------------------------- R11 abandonment


async def test_r11_unpaid_second_billing_abandons_the_items_after_30_days_refunding_nothing(shop: Shop) -> None:
    handle = await shop.apply(application())
    at_warehouse = await purchase_to_warehouse(shop, handle)
    assert at_warehouse.status is OrderStatus.AT_WAREHOUSE
    [abandonment] = at_warehouse.deadlines
    arrived_at = abandonment.started_at
    billed = await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    assert pending(billed, CustomerOperation.PAY_BILLING) == [2400]
    assert billed.pending_operations[0].due_at == arrived_at + timedelta(days=30)

    final = await shop.result(handle)

    assert final.status is OrderStatus.ABANDONED
    assert_about(final.closed_at, arrived_at + timedelta(days=30))
    assert [b.status for b in final.billings] == [BillingStatus.PAID, BillingStatus.CANCELED]
    assert final.refunds == [] and shop.recorder.commands(final.order_id, "deposit.refund_requested") == []
    assert shop.recorder.events(final.order_id)[-1] == "order.abandoned"


async def test_r11_a_second_billing_issued_late_still_leaves_the_reminder_period_to_pay(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    await shop.sleep(timedelta(days=29))
    billed = await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    issued_at = billed.billings[1].issued_at
    assert billed.deadlines[0].due_at == issued_at + timedelta(days=2)  # not arrival + 30 days, one day away

    final = await shop.result(handle)

    assert final.status is OrderStatus.ABANDONED
    assert_about(final.closed_at, issued_at + timedelta(days=2))
    [reminder] = shop.recorder.messages(final.order_id, "order.deadline_reminder")
    assert_about(reminder.time, issued_at)


# --------------------------------------------------------------------------- R13 reminders


async def test_r13_a_reminder_arrives_before_every_automatic_cancel_and_abandonment(shop: Shop) -> None:
    payment = await shop.apply(application())
    await shop.staff(payment, "estimate", ESTIMATE)
    arrival = await shop.apply(application(service=ServiceType.FORWARD))
    await shop.staff(arrival, "confirm_handling", ConfirmHandlingRequest(service_fee=1000))
    await shop.pay(arrival, 1)
    abandonment = await shop.apply(application())
    await purchase_to_warehouse(shop, abandonment)
    await shop.staff(abandonment, "issue_second_billing", SecondBillingRequest(international_shipping=2400))

    await shop.sleep(timedelta(days=31))  # past every deadline
    await shop.until_event(arrival, "order.canceled")
    await shop.answer_deposit(arrival)  # the paid fee's refund, so the order can end

    for handle, closing in ((payment, "order.canceled"), (arrival, "order.canceled"), (abandonment, "order.abandoned")):
        final = await shop.result(handle)
        [reminder] = shop.recorder.messages(final.order_id, "order.deadline_reminder")
        [closed] = shop.recorder.messages(final.order_id, closing)
        due = datetime.fromisoformat(reminder.data["due_at"])
        assert_about(reminder.time, due - timedelta(days=2))
        assert reminder.time < closed.time
        assert_about(closed.time, due)
        assert reminder.data["consequence"] in ("the order will be canceled", "the items will be abandoned")


async def test_r13_no_reminder_before_completion_as_it_takes_nothing_away(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    await purchase_to_warehouse(shop, handle, one_time=True)
    await shop.staff(handle, "ship", SHIPMENT)
    final = await shop.result(handle)
    assert shop.recorder.messages(final.order_id, "order.deadline_reminder") == []


# --------------------------------------------------------------------------- R12 payment plans, R2 pending operations


async def test_r12_two_time_plan_bills_items_first_and_shipping_after_arrival(shop: Shop) -> None:
    handle = await shop.apply(application())
    first = await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=800, service_fee=500))
    assert [line.kind.value for line in first.billings[0].lines] == ["item", "item", "domestic_shipping", "service_fee"]
    with pytest.raises(WorkflowUpdateFailedError) as shipping_first:
        await shop.staff(handle, "estimate", EstimateRequest(international_shipping=2400))
    assert refusal_of(shipping_first) == "InvalidRequest"
    await shop.pay(handle, 1)
    with pytest.raises(WorkflowUpdateFailedError) as too_early:
        await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    assert refusal_of(too_early) == "WrongOrderStatus"
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id=item_id))
        await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id=item_id))
    paid = await second_billing_paid(shop, handle)

    assert [(b.seq, b.kind.value, b.total, b.status) for b in paid.billings] == [
        (1, "first", 12300, BillingStatus.PAID),
        (2, "second", 2700, BillingStatus.PAID),
    ]
    assert paid.status is OrderStatus.PREPARING_SHIPMENT and paid.deadlines == []
    charges = shop.recorder.commands(paid.order_id, "deposit.charge_requested")
    assert [c.data["idempotency_key"] for c in charges] == [
        f"charge:{paid.order_id}:1:1",
        f"charge:{paid.order_id}:2:1",
    ]
    assert all(c.key == paid.customer_id for c in charges)


async def test_r12_one_time_plan_has_a_single_billing_including_international_shipping(shop: Shop) -> None:
    handle = await shop.apply(application(plan=PaymentPlan.ONE_TIME))
    with pytest.raises(WorkflowUpdateFailedError) as missing_shipping:
        await shop.staff(handle, "estimate", ESTIMATE)
    assert refusal_of(missing_shipping) == "InvalidRequest"
    at_warehouse = await purchase_to_warehouse(shop, handle, one_time=True)

    assert [(b.kind.value, b.total) for b in at_warehouse.billings] == [("single", 15100)]
    assert at_warehouse.status is OrderStatus.PREPARING_SHIPMENT and at_warehouse.deadlines == []
    with pytest.raises(WorkflowUpdateFailedError) as second:
        await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=1))
    assert refusal_of(second) == "WrongPaymentPlan"


async def test_r2_every_customer_operation_is_pending_with_its_amount_and_deadline(shop: Shop) -> None:
    handle = await shop.apply(application())
    applied = await shop.view(handle)
    assert [op.operation for op in applied.pending_operations] == [CustomerOperation.CANCEL]
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    assert [(op.operation, op.amount) for op in estimated.pending_operations] == [
        (CustomerOperation.PAY_BILLING, 12300),
        (CustomerOperation.CANCEL, None),
    ]
    charging = await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    # The payment is on its way: nothing to do but wait, and no pay button meanwhile.
    assert [(op.operation, op.amount) for op in charging.pending_operations] == [
        (CustomerOperation.PAYMENT_PROCESSING, 12300)
    ]
    await shop.answer_deposit(handle, reject_charges=True)
    rejected = await shop.view(handle)
    [retry] = rejected.pending_operations[:1]
    assert (retry.operation, retry.amount, retry.shortfall) == (CustomerOperation.PAY_BILLING, 12300, 12300)
    await shop.pay(handle, 1)
    for item_id in ("1", "2"):
        await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id=item_id))
        at_warehouse = await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id=item_id))
    assert at_warehouse.pending_operations == []  # staff pack and bill first
    billed = await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    [pay_second] = billed.pending_operations
    assert (pay_second.billing_seq, pay_second.amount) == (2, 2400)
    assert pay_second.due_at == billed.deadlines[0].due_at
