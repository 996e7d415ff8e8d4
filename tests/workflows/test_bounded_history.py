"""No zombie orders by size: the workflow continues as new, and signals cannot grow the order without bound.

The continuation is forced through the order's own policy
(``OrderPolicy.history_events_per_run`` at its minimum), never by patching the
workflow: an order continued several times must run exactly as one that never
was, for the customer (view, refusals), for staff (history) and for the read
model (versions), and its deadlines must fire when they were due.

Deadlines and signal caps run on the time-skipping server. The orders driven
through signals while they continue run on the stack's Temporal server
(``dev_shop``): the time-skipping server can leave a query, a history read or
the workflow task itself hanging when a read reaches it while a run continues
as new, which the real server does not.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.workflows.order_harness import (
    ESTIMATE,
    LEDGER,
    OrderHandle,
    Recorder,
    Shop,
    application,
    assert_about,
    runs,
)
from tests.workflows.order_paths import SHIPMENT, purchase_to_warehouse, second_billing_paid
from tests.workflows.test_web_ui_signals import DevServer, dev_server  # noqa: F401 (the fixture)
from workflows.models import (
    BillingStatus,
    CancelReason,
    CustomerCancelRequest,
    DeadlineKind,
    DepositEvent,
    ItemPurchasedRequest,
    MoveDeadlineRequest,
    OrderPolicy,
    OrderStatus,
    PayBillingRequest,
    ReceptionOutcome,
    ReceptionReportRequest,
    StaffCancelRequest,
)
from workflows.order_state import SIGNAL_REJECTED, Order
from workflows.order_workflow import REJECTED_SIGNALS_KEPT, REJECTION_DETAIL_CAP, SIGNAL_PAYLOAD_CAP, OrderWorkflow
from workflows.refusals import Refusal
from workflows.rules import payment


@pytest.fixture
async def dev_shop(dev_server: DevServer) -> AsyncIterator[Shop]:  # noqa: F811 (the imported fixture)
    """A shop on the stack's Temporal server: real semantics, real time (the orders here need no deadline)."""
    recorder = Recorder()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_server.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
    ):
        yield Shop(client=dev_server.client, recorder=recorder, task_queue=queue)


SHORT_RUNS = OrderPolicy(history_events_per_run=40)
"""The lowest bound the policy takes: a run continues after a handful of operations."""
ONE_DAY = timedelta(days=1)


async def _run_count(shop: Shop, handle: OrderHandle) -> int:
    """Runs of the order so far, counting one that has just been continued to and cannot be read yet."""
    assert handle.first_execution_run_id is not None
    readable = await runs(shop.client, handle.id, handle.first_execution_run_id)
    continuing = readable[-1].events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    return len(readable) + continuing


async def _continue_by_flood(shop: Shop, handle: OrderHandle, answer: DepositEvent) -> int:
    """Deliver an answer already applied until the order runs in a newer run; the number of runs then.

    Such answers change nothing, yet each grows the run's history; the run
    sees its length only in a workflow task, so the flood goes on until one
    has seen the bound. (The timeout guards against a hang, it measures nothing.)
    """
    runs_before = await _run_count(shop, handle)
    async with asyncio.timeout(30):
        while (count := await _run_count(shop, handle)) <= runs_before:
            await shop.deliver(handle, answer)
    return count


async def _paid(shop: Shop, handle: OrderHandle) -> DepositEvent:
    """Estimate and pay billing 1; the deposit's (signed) answer, to deliver it again."""
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    [charged] = await shop.answer_deposit(handle)
    return charged


# --------------------------------------------------------------------------- continue-as-new


@pytest.mark.stack
async def test_an_order_continued_as_new_runs_exactly_as_one_that_never_was(dev_shop: Shop) -> None:
    shop = dev_shop
    continued = await shop.apply(application(policy=SHORT_RUNS))
    reference = await shop.apply(application())
    for handle in (continued, reference):
        await purchase_to_warehouse(shop, handle)
        await second_billing_paid(shop, handle)
        await shop.staff(handle, "ship", SHIPMENT)
        await shop.customer(handle, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED))

    finals = [await shop.result(handle) for handle in (continued, reference)]

    final, expected = finals
    assert await _run_count(shop, continued) >= 3 and await _run_count(shop, reference) == 1
    assert final.status is OrderStatus.COMPLETED and final.closed_at is not None
    assert [(h.actor, h.action) for h in final.history] == [(h.actor, h.action) for h in expected.history]
    assert [(b.seq, b.total, b.status) for b in final.billings] == [
        (b.seq, b.total, b.status) for b in expected.billings
    ]
    assert (final.paid_total, final.refunded_total) == (expected.paid_total, expected.refunded_total)
    # The read model: one version after the other, none reused, none skipped, the same events as one run gives.
    recorded = shop.recorder.of(final.order_id)
    assert [t.version for t in recorded] == list(range(1, len(recorded) + 1))
    assert len(recorded) == len(shop.recorder.of(expected.order_id)) and final.version == len(recorded)
    assert shop.recorder.events(final.order_id) == shop.recorder.events(expected.order_id)
    assert recorded[-1].view.model_dump(mode="json") == final.model_dump(mode="json")


@pytest.mark.stack
async def test_a_continuation_changes_nothing_anyone_sees(dev_shop: Shop) -> None:
    shop = dev_shop
    handle = await shop.apply(application(policy=SHORT_RUNS))
    charged = await _paid(shop, handle)
    before = await shop.view(handle)
    runs_before = await _run_count(shop, handle)
    recorded_before = len(shop.recorder.of(before.order_id))

    assert await _continue_by_flood(shop, handle, charged) > runs_before

    after = await shop.view(handle)
    assert after.model_dump(mode="json") == before.model_dump(mode="json")
    assert len(shop.recorder.of(before.order_id)) == recorded_before  # the new run published nothing


async def _attempts(shop: Shop, handle: OrderHandle) -> list[str | None]:
    """What a paid, purchasing order says to operations that do not fit it, and to one that does."""
    answers: list[str | None] = []
    for attempt in (
        shop.customer(handle, "cancel", CustomerCancelRequest()),
        shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1)),
        shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=2)),
        shop.staff(handle, "ship", SHIPMENT),
        shop.staff(handle, "move_deadline", MoveDeadlineRequest(deadline=DeadlineKind.PAYMENT, shift_by=ONE_DAY)),
        shop.staff(handle, "item_purchased", ItemPurchasedRequest(item_id="1")),
    ):
        try:
            await attempt
            answers.append(None)
        except WorkflowUpdateFailedError as failed:
            assert isinstance(failed.cause, ApplicationError)
            answers.append(failed.cause.type)
    return answers


@pytest.mark.stack
async def test_a_continued_order_refuses_and_accepts_the_same_operations(dev_shop: Shop) -> None:
    shop = dev_shop
    continued = await shop.apply(application(policy=SHORT_RUNS))
    reference = await shop.apply(application())
    charged = await _paid(shop, continued)
    await _paid(shop, reference)
    await _continue_by_flood(shop, continued, charged)

    assert await _attempts(shop, continued) == await _attempts(shop, reference)
    assert await _attempts(shop, reference) == [
        Refusal.PAYMENT_ALREADY_MADE,
        Refusal.BILLING_NOT_PAYABLE,
        Refusal.BILLING_NOT_FOUND,
        Refusal.WRONG_STATUS,
        Refusal.NO_SUCH_DEADLINE,
        Refusal.WRONG_ITEM_STATUS,
    ]
    await shop.deliver(continued, charged)  # applied in the first run: still applied once
    await shop.staff(continued, "cancel_order", StaffCancelRequest(reason="shop closed"))
    await shop.answer_deposit(continued)
    final = await shop.result(continued)
    assert [h.action for h in final.history].count("paid") == 1
    assert final.status is OrderStatus.CANCELED and final.refunded_total == final.paid_total == 12300


async def test_deadlines_keep_their_due_times_across_continuations(shop: Shop) -> None:
    handle = await shop.apply(application(policy=SHORT_RUNS))
    estimated = await shop.staff(handle, "estimate", ESTIMATE)
    deadline = estimated.deadlines[0]
    for _ in range(6):  # each move is a transition: the run continues on the way
        move = MoveDeadlineRequest(deadline=DeadlineKind.PAYMENT, shift_by=ONE_DAY)
        await shop.staff(handle, "move_deadline", move)
    assert await _run_count(shop, handle) >= 2
    due = deadline.due_at + timedelta(days=6)

    final = await shop.result(handle)

    assert final.status is OrderStatus.CANCELED and final.cancel_reason is CancelReason.PAYMENT_TIMEOUT
    assert_about(final.closed_at, due)
    [reminder] = [h for h in final.history if h.action == "reminder sent"]
    assert_about(reminder.at, due - SHORT_RUNS.reminder_before)
    assert final.billings[0].status is BillingStatus.CANCELED


# --------------------------------------------------------------------------- signal caps


async def test_an_oversized_signal_is_rejected_before_validation_and_leaves_no_trace_of_its_payload(shop: Shop) -> None:
    handle = await shop.apply(application())
    padding = "x" * (SIGNAL_PAYLOAD_CAP + 1)
    await shop.signal(handle, "estimate", {"domestic_shipping": 800, "note": padding})
    forged = {"event_id": "e-1", "type": "deposit.charged", "order_id": handle.id.removeprefix("order-")}
    await shop.deliver(handle, {**forged, "billing_seq": 1, "revision": 1, "amount": 1, "attestation": padding})

    view = await shop.view(handle)

    rejected = [r.detail for r in (await shop.staff_part(handle)).rejected_signals]
    assert [detail.split(":")[:2] for detail in await shop.rejections(handle)] == [
        ["estimate", " PayloadTooLarge"],
        ["deposit_event", " PayloadTooLarge"],
    ]
    assert all(len(detail) <= REJECTION_DETAIL_CAP and "xxxx" not in detail for detail in rejected)
    assert view.status is OrderStatus.APPLIED and view.billings == []
    assert all(len(t.view.model_dump_json()) < SIGNAL_PAYLOAD_CAP for t in shop.recorder.of(view.order_id))
    assert all(len(t.staff.model_dump_json()) < SIGNAL_PAYLOAD_CAP for t in shop.recorder.of(view.order_id))
    await shop.signal(handle, "estimate", {"domestic_shipping": 800, "note": "y" * 4000})  # big, not too big
    assert (await shop.view(handle)).status is OrderStatus.AWAITING_PAYMENT


async def test_a_flood_of_bad_signals_keeps_only_the_latest_rejections(shop: Shop) -> None:
    handle = await shop.apply(application())
    flood = REJECTED_SIGNALS_KEPT + 5
    for n in range(flood - 1):
        await shop.signal(handle, "item_arrived", {"item": str(n)})
    bad_extras = [{"description": "", "amount": -1}] * 400  # 800 validation errors: a long reason
    await shop.signal(handle, "estimate", {"extras": bad_extras})

    view = await shop.view(handle)

    part = await shop.staff_part(handle)
    rejected = await shop.rejections(handle)
    assert len(rejected) == REJECTED_SIGNALS_KEPT
    assert '"item":"5"' in rejected[0]  # the oldest five gave way, and are counted
    assert part.rejected_signals_not_listed == 5
    assert rejected[-1].startswith("estimate: MalformedPayload") and rejected[-1].endswith("…")  # shortened
    assert len(part.rejected_signals[-1].detail) == REJECTION_DETAIL_CAP
    assert not any(h.action == SIGNAL_REJECTED for h in view.history)  # nothing of it in the customer's history
    await shop.staff(handle, "estimate", ESTIMATE)  # the order is fine
    assert (await shop.view(handle)).status is OrderStatus.AWAITING_PAYMENT


def test_a_deposit_answer_that_changes_nothing_is_not_remembered() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    order = Order.open(application("o-1"), now)
    stray: dict[str, Any] = {"order_id": "o-1", "billing_seq": 1, "revision": 1, "shortfall": 10}
    for n in range(50):  # rejections of a charge nobody asked for, each under a fresh id
        stray_answer = DepositEvent(event_id=f"stray-{n}", type="deposit.charge_rejected", **stray)
        payment.deposit_answer(order, stray_answer, now, "deposits")
    assert order.seen_deposit_events == []
