"""Issue 11, the workflow's part: what customers and staff are told is true and complete.

Each test names the behaviour a customer or a staff member relies on. What the
customer sees is the order's view (the query, and ``view`` of every recorded
transition: the read model serves it as stored); what only staff see is the
transition's ``staff`` part (the read model's ``staff_view`` column).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contracts import orders as events
from tests.workflows.order_harness import ESTIMATE, OrderHandle, Shop, application, assert_about, refusal_of
from tests.workflows.order_paths import SHIPMENT, purchase_to_warehouse, second_billing_paid
from workflows import DEPOSIT_EVENT_SIGNAL, STAFF_OPERATIONS
from workflows.models import (
    AddTrackingRequest,
    CancelReason,
    ConfirmHandlingRequest,
    CustomerOperation,
    DeadlineKind,
    EstimateRequest,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemRequest,
    ItemStatus,
    MoveDeadlineRequest,
    OrderApplication,
    OrderPolicy,
    OrderStatus,
    OrderView,
    PayBillingRequest,
    ReceptionOutcome,
    ReceptionReportRequest,
    SecondBillingRequest,
    ServiceType,
    StaffPart,
)


def staff_part(shop: Shop, order_id: str) -> StaffPart:
    """The staff part as the read model holds it: that of the order's latest recorded transition."""
    return shop.recorder.of(order_id)[-1].staff


def customer_sees(shop: Shop, order_id: str) -> str:
    """Everything the customer's view ever said, as the read model stored it (JSON of every version)."""
    return "\n".join(t.view.model_dump_json() for t in shop.recorder.of(order_id))


def operations(view: OrderView, operation: CustomerOperation) -> list[str]:
    return [op.description for op in view.pending_operations if op.operation is operation]


# --------------------------------------------------------------------------- R2 pending operations


async def test_while_a_charge_is_in_flight_the_customer_sees_payment_being_processed_and_no_pay_button(
    shop: Shop,
) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)

    charging = await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))

    assert operations(charging, CustomerOperation.PAY_BILLING) == []
    [processing] = [op for op in charging.pending_operations if op.operation is CustomerOperation.PAYMENT_PROCESSING]
    assert (processing.billing_seq, processing.amount) == (1, 12_300)
    assert "being processed" in processing.description
    await shop.answer_deposit(handle)
    assert operations(await shop.view(handle), CustomerOperation.PAYMENT_PROCESSING) == []


async def test_an_open_dispute_asks_the_customer_to_explain_it_by_message_with_photos(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    await second_billing_paid(shop, handle)
    await shop.staff(handle, "ship", SHIPMENT)

    disputed = await shop.customer(
        handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM, comment="arm broken")
    )

    [explain] = [op for op in disputed.pending_operations if op.operation is CustomerOperation.EXPLAIN_DISPUTE]
    assert "message" in explain.description and "photos" in explain.description
    assert explain.condition == "until staff resolve the dispute"


async def test_cancel_says_until_when_and_under_which_condition_the_customer_can_cancel(shop: Shop) -> None:
    handle = await shop.apply(application())

    applied = await shop.view(handle)
    [before_estimate] = [op for op in applied.pending_operations if op.operation is CustomerOperation.CANCEL]
    assert before_estimate.condition is not None and "until you pay" in before_estimate.condition

    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    [cancel] = [op for op in estimated.pending_operations if op.operation is CustomerOperation.CANCEL]
    payment = next(d for d in estimated.deadlines if d.kind is DeadlineKind.PAYMENT)
    assert cancel.due_at == payment.due_at
    assert f"{payment.due_at:%Y-%m-%d}" in cancel.description


# --------------------------------------------------------------------------- stale fields


async def test_a_successful_payment_clears_the_billings_last_rejection(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    await shop.answer_deposit(handle, reject_charges=True)
    rejected = await shop.view(handle)
    assert rejected.billings[0].last_rejection is not None

    paid = await shop.pay(handle, 1)

    assert paid.billings[0].last_rejection is None


async def test_items_at_the_warehouse_are_discarded_when_the_order_is_abandoned(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))

    abandoned = await shop.result(handle)

    assert abandoned.status is OrderStatus.ABANDONED
    assert {item.status for item in abandoned.items} == {ItemStatus.DISCARDED}


async def test_the_shipping_method_chosen_at_the_second_billing_shows_at_order_level_from_then_on(shop: Shop) -> None:
    handle = await shop.apply(application())
    at_warehouse = await purchase_to_warehouse(shop, handle)
    assert at_warehouse.shipping_method is None

    billed = await shop.staff(
        handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400, shipping_method="SAL")
    )
    assert billed.shipping_method == "SAL"
    paid = await shop.pay(handle, 2)
    assert paid.shipping_method == "SAL"
    shipped = await shop.staff(handle, "ship", SHIPMENT)
    assert shipped.shipping_method == "EMS"  # what actually left: the shipment's method


# --------------------------------------------------------------------------- R14 estimate deadline


async def test_r14_an_order_never_estimated_is_canceled_after_14_days_with_a_staff_alert_2_days_before(
    shop: Shop,
) -> None:
    handle = await shop.apply(application())
    applied_at = await shop.now()
    applied = await shop.view(handle)
    [estimate] = [d for d in applied.deadlines if d.kind is DeadlineKind.ESTIMATE]
    assert_about(estimate.due_at, applied_at + timedelta(days=14))

    canceled = await shop.result(handle)

    assert canceled.status is OrderStatus.CANCELED
    assert canceled.cancel_reason is CancelReason.ESTIMATE_TIMEOUT
    order_events = shop.recorder.events(canceled.order_id)
    assert order_events == ["order.applied", "order.staff_alert", "order.canceled"]
    alert = events.OrderStaffAlert.model_validate(
        shop.recorder.messages(canceled.order_id, "order.staff_alert")[0].data
    )
    assert alert.alert == "estimate_overdue"
    assert_about(
        shop.recorder.messages(canceled.order_id, "order.staff_alert")[0].time, estimate.due_at - timedelta(days=2)
    )
    [noted] = staff_part(shop, canceled.order_id).alerts
    assert noted.alert == "estimate_overdue" and noted.due_at == estimate.due_at
    assert "estimate_overdue" not in customer_sees(shop, canceled.order_id)  # staff's alert, not the customer's


async def test_r14_the_estimate_and_the_handling_contact_stop_the_estimate_clock(shop: Shop) -> None:
    purchase = await shop.apply(application())
    estimated = await shop.staff(purchase, "estimate", ESTIMATE)
    forward = await shop.apply(application(service=ServiceType.FORWARD))
    confirmed = await shop.staff(forward, "confirm_handling", ConfirmHandlingRequest(service_fee=500))

    for view in (estimated, confirmed):
        assert DeadlineKind.ESTIMATE not in {d.kind for d in view.deadlines}


async def test_r14_the_estimate_period_and_its_alert_come_from_the_orders_policy(shop: Shop) -> None:
    policy = OrderPolicy(estimate_due_after=timedelta(days=3), estimate_alert_before=timedelta(hours=6))
    handle = await shop.apply(application(policy=policy))
    applied_at = await shop.now()

    canceled = await shop.result(handle)

    assert canceled.cancel_reason is CancelReason.ESTIMATE_TIMEOUT
    assert_about(canceled.closed_at, applied_at + timedelta(days=3))
    assert_about(
        shop.recorder.messages(canceled.order_id, "order.staff_alert")[0].time,
        applied_at + timedelta(days=3) - timedelta(hours=6),
    )


# --------------------------------------------------------------------------- moved deadlines


async def test_every_staff_move_of_a_deadline_tells_the_customer_the_new_date(shop: Shop) -> None:
    handle = await shop.apply(application())
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    previous = next(d.due_at for d in estimated.deadlines if d.kind is DeadlineKind.PAYMENT)

    await shop.staff(handle, "move_deadline", MoveDeadlineRequest(deadline="payment", shift_by=timedelta(days=-2)))

    [moved] = shop.recorder.messages(estimated.order_id, "order.deadline_moved")
    told = events.OrderDeadlineMoved.model_validate(moved.data)
    assert (told.deadline, told.billing_seq) == ("payment", 1)
    assert told.previous_due_at == previous
    assert told.due_at == previous - timedelta(days=2)


# --------------------------------------------------------------------------- staff input


async def test_internal_notes_stay_in_the_staff_part_and_messages_to_the_customer_travel_with_the_event(
    shop: Shop,
) -> None:
    handle = await shop.apply(application())
    estimate = EstimateRequest(
        domestic_shipping=800,
        actor="yuki",
        internal_note="shop charges 10% more on weekends",
        message_to_customer="Prices include the weekend surcharge.",
    )

    estimated = await shop.staff(handle, "estimate", estimate)

    [note] = staff_part(shop, estimated.order_id).internal_notes
    assert (note.actor, note.operation, note.note) == ("staff:yuki", "estimate", "shop charges 10% more on weekends")
    assert "10% more" not in customer_sees(shop, estimated.order_id)
    [sent] = shop.recorder.messages(estimated.order_id, "order.estimated")
    assert sent.data["staff_message"] == "Prices include the weekend surcharge."
    assert "10% more" not in str(sent.data)
    said = [h for h in estimated.history if h.action == "message from staff"]
    assert [(h.actor, h.detail) for h in said] == [("staff:yuki", "Prices include the weekend surcharge.")]


async def test_the_old_note_field_is_kept_as_an_internal_note_never_shown_to_the_customer(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.pay(handle, 1)

    bought = await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id="1", note="paid cash at Akiba"))
    await shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id="2"))
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="2"))
    await shop.staff(
        handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400, note="quoted by phone")
    )

    assert bought.items[0].note == ""
    notes = staff_part(shop, bought.order_id).internal_notes
    assert [(n.operation, n.note) for n in notes] == [
        ("item_purchased", "paid cash at Akiba"),
        ("issue_second_billing", "quoted by phone"),
    ]
    assert "Akiba" not in customer_sees(shop, bought.order_id)
    assert "by phone" not in customer_sees(shop, bought.order_id)


async def test_the_reception_reports_comment_is_kept_for_staff(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    await second_billing_paid(shop, handle)
    await shop.staff(handle, "ship", SHIPMENT)

    done = await shop.customer(
        handle,
        "report_reception",
        ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED, comment="box dented, contents fine"),
    )

    assert any("box dented, contents fine" in h.detail for h in done.history)


# --------------------------------------------------------------------------- rejected and unknown signals


async def test_a_malformed_staff_signal_is_rejected_in_the_staff_part_and_the_customer_sees_nothing(
    shop: Shop,
) -> None:
    handle = await shop.apply(application())
    await shop.signal(handle, "estimate", {"domestic_shipping": "eight hundred"})
    estimated = await shop.staff(handle, "estimate", ESTIMATE)  # recorded after the signal was handled

    [rejected] = staff_part(shop, estimated.order_id).rejected_signals
    assert (rejected.signal, rejected.refusal) == ("estimate", "MalformedPayload")
    assert "eight hundred" in rejected.detail
    assert "eight hundred" not in customer_sees(shop, estimated.order_id)
    assert "rejected" not in {h.action for h in estimated.history}


async def test_a_signal_under_an_unknown_name_is_recorded_as_rejected_with_the_valid_names(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.signal(handle, "estimat", {"domestic_shipping": 800})
    estimated = await shop.staff(handle, "estimate", ESTIMATE)

    [rejected] = staff_part(shop, estimated.order_id).rejected_signals
    assert (rejected.signal, rejected.refusal) == ("estimat", "UnknownSignal")
    for name in (*STAFF_OPERATIONS, DEPOSIT_EVENT_SIGNAL):
        assert name in rejected.detail
    assert "estimat'" not in customer_sees(shop, estimated.order_id)


# --------------------------------------------------------------------------- revision wording


async def test_paying_a_revision_that_does_not_exist_says_so_and_names_the_current_revision(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1, revision=2))

    assert refusal_of(refused) == "InvalidRequest"
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "billing 1 has no revision 2: its current revision is 1 (12300 yen)"


# --------------------------------------------------------------------------- forward tracking later


def forward_without_tracking(order_id: str | None = None) -> OrderApplication:
    app = application(order_id, service=ServiceType.FORWARD)
    items = [ItemRequest(name="Figure", shop_or_url="https://shop.example/fig", quantity=1, unit_price_estimate=3000)]
    return app.model_copy(update={"items": items})


async def add_tracking(shop: Shop, handle: OrderHandle, item_id: str, number: str) -> OrderView:
    request = AddTrackingRequest(item_id=item_id, domestic_tracking_number=number)
    return await shop.customer(handle, "add_tracking", request)


async def test_a_forward_customer_adds_an_items_tracking_number_after_applying_until_it_arrives(shop: Shop) -> None:
    handle = await shop.apply(forward_without_tracking())
    applied = await shop.view(handle)
    assert [op.item_id for op in applied.pending_operations if op.operation is CustomerOperation.ADD_TRACKING] == ["1"]

    added = await add_tracking(shop, handle, "1", "JP-LATER-1")

    assert added.items[0].domestic_tracking_number == "JP-LATER-1"
    assert operations(added, CustomerOperation.ADD_TRACKING) == []
    assert added.history[-1].action == "tracking number added" and added.history[-1].actor == "customer"
    await shop.staff(handle, "item_arrived", ItemArrivedRequest(item_id="1"))
    with pytest.raises(WorkflowUpdateFailedError) as arrived:
        await add_tracking(shop, handle, "1", "JP-TOO-LATE")
    assert refusal_of(arrived) == "WrongItemStatus"


async def test_a_purchase_order_takes_no_tracking_number_from_the_customer(shop: Shop) -> None:
    handle = await shop.apply(application())

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await add_tracking(shop, handle, "1", "JP-1")

    assert refusal_of(refused) == "WrongServiceType"
