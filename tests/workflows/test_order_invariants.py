"""The rules in any order: random staff, customer, deposit and clock moves never break the money.

Runs the pure rules (``workflows.rules``) exactly as the workflow does (a draft
per operation, kept only if not refused) without Temporal, so hypothesis can
try thousands of orders in seconds. Whatever happens:

- an order never gives back more than it was paid, and never keeps money it
  was not billed for;
- a customer cancel never succeeds after a payment (R4);
- a closed order stays closed, with no deadline and nothing for the customer to do;
- after the clock ran, no deadline the customer could act on is overdue;
- every refusal is one of the typed refusals the HTTP layer maps.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from temporalio.exceptions import ApplicationError

from daiko.events import DEPOSITS_COMMANDS
from tests.workflows.order_harness import application
from workflows.models import (
    AmendItemsRequest,
    BillingStatus,
    CannotHandleRequest,
    ConfirmHandlingRequest,
    CustomerCancelRequest,
    DeadlineKind,
    DepositEvent,
    EstimateRequest,
    ItemArrivedRequest,
    ItemChange,
    ItemPurchasedRequest,
    ItemUnavailableRequest,
    MoveDeadlineRequest,
    OrderStatus,
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
from workflows.operations import Rule
from workflows.order_state import Order
from workflows.refusals import refusal_of
from workflows.rules import billing, cancellation, deadlines, fulfilment, payment

yen = st.integers(min_value=0, max_value=20_000)
item_ids = st.sampled_from(["1", "2", "3"])  # "3" does not exist


class OrderMachine(RuleBasedStateMachine):
    order: Order
    now: datetime

    @initialize(service=st.sampled_from(ServiceType), plan=st.sampled_from(PaymentPlan))
    def apply(self, service: ServiceType, plan: PaymentPlan) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)
        self.order = Order.open(application("prop", service=service, plan=plan), self.now)
        self.commands: list[dict[str, Any]] = []
        self.answered: set[str] = set()
        self.closed_as: OrderStatus | None = None
        self.events = 0

    def attempt(self, rule_: Rule, request: Any, actor: str = "staff") -> bool:
        draft = self.order.model_copy(deep=True)
        try:
            rule_(draft, request, self.now, actor)
        except ApplicationError as refusal:
            assert refusal_of(refusal) is not None, refusal
            return False
        self.commands += [e.data | {"type": e.type} for e in draft.effects if e.topic == DEPOSITS_COMMANDS]
        draft.effects = []
        self.order = draft
        return True

    # ------------------------------------------------------------------ staff

    @rule(domestic=yen, fee=yen, international=st.none() | yen)
    def estimate(self, domestic: int, fee: int, international: int | None) -> None:
        request = EstimateRequest(domestic_shipping=domestic, service_fee=fee, international_shipping=international)
        self.attempt(billing.estimate, request)

    @rule(fee=yen, international=st.none() | yen)
    def confirm_handling(self, fee: int, international: int | None) -> None:
        request = ConfirmHandlingRequest(service_fee=fee, international_shipping=international)
        self.attempt(billing.confirm_handling, request)

    @rule(item_id=item_ids, quantity=st.integers(0, 3))
    def amend_items(self, item_id: str, quantity: int) -> None:
        self.attempt(billing.amend_items, AmendItemsRequest(changes=[ItemChange(item_id=item_id, quantity=quantity)]))

    @rule(item_id=item_ids)
    def item_purchased(self, item_id: str) -> None:
        self.attempt(fulfilment.item_purchased, ItemPurchasedRequest(item_id=item_id))

    @rule(item_id=item_ids)
    def item_arrived(self, item_id: str) -> None:
        self.attempt(fulfilment.item_arrived, ItemArrivedRequest(item_id=item_id))

    @rule(item_id=item_ids)
    def item_unavailable(self, item_id: str) -> None:
        self.attempt(fulfilment.item_unavailable, ItemUnavailableRequest(item_id=item_id, reason="gone"))

    @rule(international=yen)
    def issue_second_billing(self, international: int) -> None:
        self.attempt(billing.issue_second_billing, SecondBillingRequest(international_shipping=international))

    @rule()
    def ship(self) -> None:
        self.attempt(fulfilment.ship, ShipRequest(method="EMS", carrier="JP", tracking_numbers=["EM1"]))

    @rule(amount=st.integers(0, 60_000))
    def resolve_dispute(self, amount: int) -> None:
        refundable = self.order.refundable
        if self.attempt(fulfilment.resolve_dispute, ResolveDisputeRequest(refund_amount=amount, resolution="r")):
            assert amount <= refundable

    @rule(which=st.sampled_from(["cancel_order", "cannot_handle"]))
    def staff_cancel(self, which: str) -> None:
        if which == "cancel_order":
            self.attempt(cancellation.staff_cancel, StaffCancelRequest(reason="r"))
        else:
            self.attempt(cancellation.cannot_handle, CannotHandleRequest(reason="r"))

    @rule(kind=st.sampled_from(DeadlineKind), hours=st.integers(-200, 200))
    def move_deadline(self, kind: DeadlineKind, hours: int) -> None:
        self.attempt(deadlines.move_deadline, MoveDeadlineRequest(deadline=kind, shift_by=timedelta(hours=hours)))

    # ------------------------------------------------------------------ customer

    @rule(seq=st.sampled_from([1, 2]))
    def pay_billing(self, seq: int) -> None:
        self.attempt(payment.pay_billing, PayBillingRequest(billing_seq=seq), "customer")

    @rule()
    def customer_cancel(self) -> None:
        paid_before = self.order.has_payment
        if self.attempt(cancellation.customer_cancel, CustomerCancelRequest(), "customer"):
            assert not paid_before, "R4: canceled after a payment"

    @rule(problem=st.booleans())
    def report_reception(self, problem: bool) -> None:
        outcome = ReceptionOutcome.PROBLEM if problem else ReceptionOutcome.RECEIVED
        self.attempt(fulfilment.report_reception, ReceptionReportRequest(outcome=outcome), "customer")

    # ------------------------------------------------------------------ deposits and the clock

    @rule(accept=st.booleans(), duplicate=st.booleans())
    def deposit_answers(self, accept: bool, duplicate: bool) -> None:
        for command in [c for c in self.commands if c["idempotency_key"] not in self.answered]:
            self.answered.add(command["idempotency_key"])
            self.events += 1
            if command["type"] == "deposit.refund_requested":
                kind, fields = "deposit.refunded", {"refund_key": command["idempotency_key"]}
            else:
                kind = "deposit.charged" if accept else "deposit.charge_rejected"
                fields = {"billing_seq": command["billing_seq"], "revision": command["revision"]}
            event = DepositEvent(
                event_id=f"e{self.events}", type=kind, order_id="prop", amount=command["amount"], **fields
            )
            for _ in range(2 if duplicate else 1):
                assert self.attempt(payment.deposit_result, event, "deposits")
            if kind == "deposit.charge_rejected":
                self.answered.discard(command["idempotency_key"])  # the same key may be charged again

    @rule(hours=st.integers(1, 24 * 40))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        for _ in range(4):  # what the workflow's loop does: tick while an alarm is due
            alarm = deadlines.next_alarm(self.order)
            if alarm is None or alarm > self.now:
                break
            self.attempt(deadlines.clock_tick, None, "system")
        alarm = deadlines.next_alarm(self.order)
        assert alarm is None or alarm > self.now, "the clock left an overdue deadline or reminder"

    # ------------------------------------------------------------------ the happy path, so random runs get deep

    def _advance(self, problem: bool) -> None:
        """The natural next step of the order; mixed with the random ones above."""
        order, status = self.order, self.order.status
        one_time = order.payment_plan is PaymentPlan.ONE_TIME
        waiting = [i for i in order.live_items if i.status.value in ("requested", "purchased")]
        if status is OrderStatus.APPLIED and order.service_type is ServiceType.PURCHASE:
            self.estimate(800, 500, 2000 if one_time else None)
        elif status is OrderStatus.APPLIED:
            self.confirm_handling(1000, 2000 if one_time else None)
        elif status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_SECOND_PAYMENT):
            self.pay_billing(1 if status is OrderStatus.AWAITING_PAYMENT else 2)
            self.deposit_answers(accept=True, duplicate=problem)
        elif waiting and waiting[0].status.value == "requested" and status is OrderStatus.PURCHASING:
            self.item_purchased(waiting[0].item_id)
        elif waiting:
            self.item_arrived(waiting[0].item_id)
        elif status is OrderStatus.AT_WAREHOUSE:
            self.issue_second_billing(2400)
        elif status is OrderStatus.PREPARING_SHIPMENT:
            self.ship()
        elif status is OrderStatus.SHIPPED:
            self.report_reception(problem)
        elif status is OrderStatus.DISPUTED:
            self.resolve_dispute(order.refundable // 2)
        else:
            self.deposit_answers(accept=True, duplicate=problem)

    @rule(problem=st.booleans())
    def advance(self, problem: bool) -> None:
        self._advance(problem)

    @rule(problem=st.booleans())
    def advance_again(self, problem: bool) -> None:
        self._advance(problem)

    @rule(problem=st.booleans())
    def advance_once_more(self, problem: bool) -> None:
        self._advance(problem)

    def teardown(self) -> None:
        if hasattr(self, "order"):
            event(f"ended {self.order.status.value}")

    # ------------------------------------------------------------------ what always holds

    @invariant()
    def money_is_never_lost_nor_kept(self) -> None:
        order = self.order
        assert 0 <= order.refunded_total <= order.paid_total
        assert all(r.amount > 0 for r in order.refunds)
        assert all(c["amount"] > 0 for c in self.commands)
        assert len({r.key for r in order.refunds}) == len(order.refunds)
        for b in order.billings:
            assert b.total == sum(line.amount for line in b.lines)
        if order.status is OrderStatus.CANCELED and not order.charge_in_flight:
            assert order.refunded_total == order.paid_total  # a canceled order keeps nothing

    @invariant()
    def a_closed_order_stays_closed_and_quiet(self) -> None:
        if self.closed_as is not None:
            assert self.order.status is self.closed_as
        if self.order.closed:
            self.closed_as = self.order.status
            assert self.order.deadlines == [] and self.order.pending_operations() == []
            assert all(b.status is not BillingStatus.AWAITING_PAYMENT for b in self.order.billings)


OrderMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("DAIKO_HYPOTHESIS_EXAMPLES", "150")),
    database=None,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_order_rules_keep_their_invariants_in_any_order = OrderMachine.TestCase
