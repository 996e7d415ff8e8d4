"""How the order takes its inputs: signals and updates, deposit answers, moved deadlines, starts.

docs/architecture.md (deposit events applied once), docs/operations.md (a malformed staff signal is
rejected, recorded and harmless), and the workflow's own contract: one order
per id, versioned transitions. (Search attributes are checked on the dev server: the
time-skipping server cannot describe a Datetime attribute.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from tests.workflows.order_harness import ESTIMATE, Shop, application, assert_about, deposit_event, refusal_of
from tests.workflows.order_paths import purchase_to_warehouse
from workflows import CUSTOMER_UPDATES, STAFF_OPERATIONS, staff_update_name
from workflows.models import (
    MAX_ORDER_TOTAL,
    BillingStatus,
    CancelReason,
    CustomerCancelRequest,
    DeadlineKind,
    EstimateRequest,
    MoveDeadlineRequest,
    OrderStatus,
    PayBillingRequest,
    RefundStatus,
    SecondBillingRequest,
    StaffCancelRequest,
)
from workflows.order_workflow import OrderWorkflow

# --------------------------------------------------------------------------- deposit answers (docs/architecture.md)


async def test_a_duplicated_deposit_event_is_applied_once(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    [charged] = await shop.answer_deposit(handle)
    await handle.signal("deposit_event", charged)  # the same event, delivered again
    again = charged.model_copy(update={"event_id": "another-id-for-the-same-charge"})
    await handle.signal("deposit_event", again)  # the same charge, reported under a new id

    view = await shop.view(handle)

    assert view.paid_total == 12300 and view.billings[0].status is BillingStatus.PAID
    assert [h.action for h in view.history].count("paid") == 1
    assert shop.recorder.events(view.order_id).count("order.paid") == 1
    assert shop.recorder.commands(view.order_id, "deposit.refund_requested") == []


async def test_a_rejected_charge_leaves_the_billing_payable_with_its_shortfall(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    await shop.deliver(  # waits until the workflow has taken it: a query sent at once may overtake the signal
        handle,
        deposit_event(
            handle.id.removeprefix("order-"), "deposit.charge_rejected", billing_seq=1, revision=1, shortfall=2300
        ),
    )

    view = await shop.view(handle)

    assert view.billings[0].status is BillingStatus.AWAITING_PAYMENT
    assert view.pending_operations[0].shortfall == 2300
    assert "order.payment_rejected" in shop.recorder.events(view.order_id)
    paid = await shop.pay(handle, 1)  # the customer paid in; the same charge key goes again
    keys = {c.data["idempotency_key"] for c in shop.recorder.commands(paid.order_id, "deposit.charge_requested")}
    assert keys == {f"charge:{paid.order_id}:1:1"} and paid.status is OrderStatus.PURCHASING


async def test_a_charge_that_lands_after_a_staff_cancel_is_refunded(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    canceled = await shop.staff(handle, "cancel_order", StaffCancelRequest(reason="duplicate order"))
    assert canceled.status is OrderStatus.CANCELED and canceled.refunds == []

    await shop.answer_deposit(handle)  # the charge went through after all
    refund = await shop.until_event(handle, "deposit.refund_requested")
    assert refund.data["reason"] == "order_closed" and refund.data["amount"] == 12300
    await shop.answer_deposit(handle)
    final = await shop.result(handle)

    assert final.paid_total == final.refunded_total == 12300
    assert [r.status for r in final.refunds] == [RefundStatus.REFUNDED]


# --------------------------------------------------------------------------- staff signals (docs/operations.md)


async def test_a_staff_signal_billing_past_what_json_or_the_order_holds_is_recorded_and_changes_nothing(
    shop: Shop,
) -> None:
    handle = await shop.apply(application())
    await shop.signal(handle, "estimate", {"domestic_shipping": 2**53})  # a total no JSON reader holds exactly
    await shop.signal(handle, "estimate", {"domestic_shipping": MAX_ORDER_TOTAL})  # past the order's ceiling
    view = await shop.view(handle)
    beyond_json, beyond_ceiling = await shop.rejections(handle)
    assert "MalformedPayload" in beyond_json and "domestic_shipping" in beyond_json
    assert "InvalidRequest" in beyond_ceiling and "ceiling" in beyond_ceiling
    assert view.status is OrderStatus.APPLIED and view.billings == []
    await shop.signal(handle, "estimate", {"domestic_shipping": 800})
    assert (await shop.view(handle)).status is OrderStatus.AWAITING_PAYMENT  # the order is fine


async def test_a_staff_update_billing_past_the_order_ceiling_is_refused_as_invalid(shop: Shop) -> None:
    handle = await shop.apply(application())
    with pytest.raises(WorkflowUpdateFailedError) as too_much:
        await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=MAX_ORDER_TOTAL))
    assert refusal_of(too_much) == "InvalidRequest"
    assert (await shop.view(handle)).billings == []


def test_no_staff_payload_carries_an_amount_beyond_json() -> None:
    with pytest.raises(ValidationError):
        EstimateRequest(domestic_shipping=2**53)


async def test_a_malformed_staff_signal_is_recorded_and_ignored(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.signal(handle, "estimate", {"domestic_shipping": "a lot"})
    await shop.signal(handle, "estimate", ["not", "an", "object"])
    await shop.signal(handle, "item_arrived", {"item": "1"})
    await handle.signal("ship")  # no payload at all

    view = await shop.view(handle)
    rejected = await shop.rejections(handle)

    assert len(rejected) == 4 and all("MalformedPayload" in detail for detail in rejected)
    assert "domestic_shipping" in rejected[0] and '"a lot"' in rejected[0]
    assert view.status is OrderStatus.APPLIED and view.billings == []
    await shop.signal(handle, "estimate", {"domestic_shipping": 800, "service_fee": 500, "actor": "yuki"})
    assert (await shop.view(handle)).status is OrderStatus.AWAITING_PAYMENT  # the order is fine


async def test_a_refused_staff_signal_is_recorded_and_changes_nothing(shop: Shop) -> None:
    handle = await shop.apply(application())
    before = await shop.view(handle)
    await shop.signal(handle, "ship", {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM1"]})
    await shop.signal(handle, "confirm_handling", {"service_fee": 500})

    view = await shop.view(handle)

    part = await shop.staff_part(handle)
    assert [r.refusal for r in part.rejected_signals] == ["WrongOrderStatus", "WrongServiceType"]
    assert view.history == before.history  # the customer's history shows nothing of staff's mistakes
    assert view.status is before.status and view.shipment is None and view.billings == []
    assert shop.recorder.events(view.order_id) == ["order.applied"]


async def test_every_staff_operation_is_a_signal_and_a_staff_update_with_a_description() -> None:
    definition = OrderWorkflow.__temporal_workflow_definition  # type: ignore[attr-defined]
    for operation in STAFF_OPERATIONS:
        signal, update = definition.signals[operation], definition.updates[staff_update_name(operation)]
        assert signal.description and signal.description == update.description
        assert signal.description.startswith("STAFF:")
    for customer in CUSTOMER_UPDATES:
        assert definition.updates[customer].description.startswith("CUSTOMER")
    assert definition.queries["view"].description


# --------------------------------------------------------------------------- moving deadlines


async def test_a_staff_moved_deadline_fires_at_the_new_time(shop: Shop) -> None:
    handle = await shop.apply(application())
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    due = estimated.deadlines[0].due_at
    moved = await shop.staff(
        handle,
        "move_deadline",
        MoveDeadlineRequest(deadline=DeadlineKind.PAYMENT, shift_by=timedelta(days=3), actor="yuki"),
    )
    assert moved.deadlines[0].due_at == due + timedelta(days=3) and moved.deadlines[0].moved_by == "staff:yuki"
    assert moved.pending_operations[0].due_at == due + timedelta(days=3)

    final = await shop.result(handle)

    assert final.cancel_reason is CancelReason.PAYMENT_TIMEOUT
    assert_about(final.closed_at, due + timedelta(days=3))
    [reminder] = shop.recorder.messages(final.order_id, "order.deadline_reminder")
    assert_about(reminder.time, due + timedelta(days=1))  # the reminder moved with it


async def test_a_deadline_moved_earlier_reminds_at_once_and_fires_at_the_new_time(shop: Shop) -> None:
    handle = await shop.apply(application())
    await purchase_to_warehouse(shop, handle)
    await shop.staff(handle, "issue_second_billing", SecondBillingRequest(international_shipping=2400))
    now = await shop.now()
    sooner = now + timedelta(days=1)
    await shop.staff(handle, "move_deadline", MoveDeadlineRequest(deadline=DeadlineKind.ABANDONMENT, due_at=sooner))
    reminder = await shop.until_event(handle, "order.deadline_reminder")

    final = await shop.result(handle)

    assert final.status is OrderStatus.ABANDONED
    assert_about(final.closed_at, sooner)
    assert final.closed_at is not None and reminder.time < final.closed_at - timedelta(hours=23)


async def test_a_deadline_cannot_move_into_the_past_or_exist_without_its_rule(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    with pytest.raises(WorkflowUpdateFailedError) as past:
        await shop.staff(
            handle, "move_deadline", MoveDeadlineRequest(deadline=DeadlineKind.PAYMENT, shift_by=timedelta(days=-8))
        )
    assert refusal_of(past) == "InvalidRequest"
    with pytest.raises(WorkflowUpdateFailedError) as missing:
        await shop.staff(
            handle, "move_deadline", MoveDeadlineRequest(deadline=DeadlineKind.COMPLETION, shift_by=timedelta(days=1))
        )
    assert refusal_of(missing) == "NoSuchDeadline"


# --------------------------------------------------------------------------- the workflow's contract


async def test_starting_the_same_order_twice_is_refused(shop: Shop) -> None:
    app = application()
    handle = await shop.apply(app)
    with pytest.raises(WorkflowAlreadyStartedError):
        await shop.apply(app)
    await shop.customer(handle, "cancel", CustomerCancelRequest())
    await shop.result(handle)
    with pytest.raises(WorkflowAlreadyStartedError):  # not even after it ended
        await shop.apply(app)


async def test_refused_updates_carry_a_type_for_the_http_layer(shop: Shop) -> None:
    handle = await shop.apply(application())
    with pytest.raises(WorkflowUpdateFailedError) as no_billing:
        await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    assert refusal_of(no_billing) == "BillingNotFound"
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.staff(handle, "estimate", EstimateRequest(domestic_shipping=700))
    with pytest.raises(WorkflowUpdateFailedError) as stale:
        await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1, revision=1))
    assert refusal_of(stale) == "BillingRevised" and "revision 2" in str(stale.value.cause)
    cause = stale.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert (await shop.view(handle)).billings[0].status is BillingStatus.AWAITING_PAYMENT  # nothing changed


async def test_every_transition_is_recorded_once_in_version_order(shop: Shop) -> None:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.pay(handle, 1)
    await shop.staff(handle, "cancel_order", StaffCancelRequest(reason="test"))
    await shop.until_event(handle, "order.canceled")
    await shop.answer_deposit(handle)
    final = await shop.result(handle)

    transitions = shop.recorder.of(final.order_id)
    assert [t.version for t in transitions] == list(range(1, final.version + 1))
    assert all(t.view.version == t.version for t in transitions)
    ids = [m.event_id for t in transitions for m in t.messages]
    assert len(ids) == len(set(ids))
    assert transitions[-1].view == final
