"""Killing any one process during load loses nothing and double-charges nothing once it is back (docs/operations.md).

Each test puts a batch of orders in flight at once, every one driven through
the HTTP APIs as real customers and staff would: the customer pays into their
deposit (pay-in report, staff confirm), applies, staff estimate, the customer
pays the 1st billing from the deposit. When a third of the orders have asked
for their payment, one process is killed with SIGKILL (its whole process
group), left dead for a moment while the clients keep calling, and brought
back with ``daiko-stack up``.

The clients do what real ones do: a call that gets no answer or a 503 is
retried, with the same ``Idempotency-Key`` where the API takes one; an order
operation is retried only after reading the order again. Afterwards:

- every order's 1st billing is paid, exactly once;
- every customer's ledger holds one pay-in and one charge for that billing,
  and their deposit is what was paid in minus the billing, never below zero;
- the ledger audit balances (Σ debits = Σ credits, every balance and running
  balance equal to what the transfers give);
- every customer was told once that the estimate is ready and once that the
  payment was received (no order event lost or doubled on the way);
- no consumer parked an event in its ``dead_letters`` (an outage is not poison);
- no API ever answered 500 (503 while a part is down is what it should say).

Every wait has a deadline; nothing asserts how long recovery took (it is
printed, for the record: run with ``-s`` to see it).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.system.portal import Customer, Portal, billing, notice_types, purchase_application
from tests.system.stack_control import Crash, StackControl

pytestmark = pytest.mark.stack

ORDERS = 20
CRASH_WHEN_PAYING = ORDERS // 3  # crash once this many orders have asked for their payment
STAGGER = 0.4  # seconds between customers starting: when the crash comes, orders are at every step
DOWN_FOR = 3.0  # seconds the part stays dead before `daiko-stack up`: clients meet the outage
WORKER_DOWN_FOR = 12.0  # longer than the orders service's Temporal timeout (10s): updates time out, clients retry
PAY_IN = 10_000
ESTIMATE = {"domestic_shipping": 800, "service_fee": 500}
FIRST_BILLING = 1000 + 2 * 2000 + 800 + 500  # purchase_application's items at the customer's prices, plus fees
RECOVERY = 180.0  # deadline for everything to settle after a crash, on a slow shared machine


@dataclass(frozen=True)
class Placed:
    customer: Customer
    order_id: str
    answered_at: float  # time.monotonic() when the customer saw the deposit's answer


@dataclass(frozen=True)
class Outage:
    crash: Crash
    back_at: float  # time.monotonic() when `daiko-stack up` returned with every part healthy


@dataclass(frozen=True)
class Run:
    placed: list[Placed]
    outage: Outage
    parked_before: dict[str, int]  # dead letters per service before the run


class Progress:
    """How far the batch is, so the crash lands in the middle of it."""

    def __init__(self) -> None:
        self.paying = 0
        self.changed = asyncio.Condition()

    async def payment_asked(self) -> None:
        async with self.changed:
            self.paying += 1
            self.changed.notify_all()

    async def wait_until_paying(self, count: int, timeout: float) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.paying >= count), timeout)


async def buy(portal: Portal, progress: Progress, start_after: float) -> Placed:
    """One customer's whole way to a paid 1st billing, through every outage."""
    await asyncio.sleep(start_after)
    customer = portal.customer("load")
    await customer.fund(PAY_IN)
    order_id = await customer.apply(purchase_application("two_time"))
    await portal.staff_op(order_id, "estimate", ESTIMATE, done=lambda v: v["billings"] != [])
    await customer.pay(order_id, 1)
    await progress.payment_asked()
    # The customer refreshes the order page until the deposit has answered (a charge result, not "charging").
    await customer.wait_for(order_id, lambda v: billing(v, 1)["status"] != "charging", "charge", timeout=RECOVERY)
    return Placed(customer, order_id, time.monotonic())


async def crash_midway(control: StackControl, part: str, progress: Progress, down_for: float) -> Outage:
    await progress.wait_until_paying(CRASH_WHEN_PAYING, timeout=RECOVERY)
    crash = await control.kill(part)
    await asyncio.sleep(down_for)
    await control.up()
    return Outage(crash, time.monotonic())


async def run_with_crash(portal: Portal, control: StackControl, part: str, *, down_for: float = DOWN_FOR) -> Run:
    parked_before = await control.dead_letters()
    progress = Progress()
    began = time.monotonic()
    async with asyncio.TaskGroup() as group:  # one failure cancels the rest: no stray clients after the test
        crashing = group.create_task(crash_midway(control, part, progress, down_for))
        buying = [group.create_task(buy(portal, progress, n * STAGGER)) for n in range(ORDERS)]
    placed = [task.result() for task in buying]
    outage = crashing.result()
    last = max(p.answered_at for p in placed)
    print(
        f"\n[{part}] {ORDERS} orders; killed pid {outage.crash.pid} {outage.crash.at - began:.1f}s in; "
        f"`daiko-stack up` had every part healthy {outage.back_at - outage.crash.at:.1f}s after the kill; "
        f"the last charge reached its order {last - outage.crash.at:.1f}s after the kill; "
        f"answers {dict(sorted(portal.answers.items()))}, no answer {dict(portal.unreachable)}"
    )
    return Run(placed, outage, parked_before)


async def assert_nothing_lost_or_doubled(portal: Portal, control: StackControl, run: Run) -> None:
    placed = run.placed
    assert len({p.order_id for p in placed}) == ORDERS
    for p in placed:
        view = await portal.staff_view(p.order_id)
        first = billing(view, 1)
        assert (first["status"], first["paid_amount"]) == ("paid", FIRST_BILLING), p.order_id
        assert (view["status"], view["paid_total"], view["refunds"]) == ("purchasing", FIRST_BILLING, [])
        assert [o["order_id"] for o in await p.customer.orders()] == [p.order_id]  # one application, one order

        ledger = Counter(
            (t["kind"], t["order_id"], t["billing_seq"], t["amount"]) for t in await p.customer.transactions()
        )
        assert ledger == Counter(
            {("bank_pay_in", None, None, PAY_IN): 1, ("charge", p.order_id, 1, FIRST_BILLING): 1}
        ), f"{p.customer.customer_id}: {ledger}"
        deposit = await p.customer.deposit()
        assert (deposit["balance"], deposit["held"], deposit["available"]) == (
            PAY_IN - FIRST_BILLING,
            0,
            PAY_IN - FIRST_BILLING,
        )

    audit = await portal.ledger_audit()
    assert audit["ok"], audit["mismatches"][:10]
    assert (audit["debits_posted"], audit["debits_pending"]) == (audit["credits_posted"], audit["credits_pending"])

    for p in placed:  # each order event reached messaging once: no notice missing, none twice
        notices = await p.customer.notices_when(
            p.order_id, lambda ns: "payment_received" in notice_types(ns), "payment notice", timeout=RECOVERY
        )
        # One estimate notice per estimate the order took: a staff click retried while the worker was down
        # may re-estimate (no Idempotency-Key on staff operations), which is a second estimate, not a duplicate.
        history = (await portal.staff_view(p.order_id))["history"]
        estimates = sum(1 for h in history if h["action"] in ("estimated", "re-estimated"))
        assert estimates >= 1, p.order_id
        assert notice_types(notices) == Counter({"estimate_ready": estimates, "payment_received": 1}), p.order_id

    # An outage is not the events' fault: no consumer may have parked one as poison on the way.
    assert await control.dead_letters() == run.parked_before


def assert_never_500(portal: Portal) -> None:
    assert portal.server_errors == [], portal.server_errors[:5]


async def test_killing_the_worker_mid_load_loses_no_order_and_charges_each_billing_once(
    portal: Portal, stack_control: StackControl
) -> None:
    """Workflow tasks and record_transition activities in flight die with it; Temporal hands them to the new one."""
    run = await run_with_crash(portal, stack_control, "worker", down_for=WORKER_DOWN_FOR)
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)


async def test_killing_the_deposits_service_mid_load_loses_no_charge_and_charges_each_billing_once(
    portal: Portal, stack_control: StackControl
) -> None:
    """Pay-ins and confirms in flight are retried with their keys; charge commands wait in Kafka."""
    run = await run_with_crash(portal, stack_control, "deposits")
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)


async def test_killing_the_orders_service_mid_load_loses_no_order_and_no_deposit_answer(
    portal: Portal, stack_control: StackControl
) -> None:
    """Applications in flight are retried with their keys; the deposit bridge resumes from its committed offsets."""
    run = await run_with_crash(portal, stack_control, "orders")
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)


async def test_killing_the_messaging_service_mid_load_loses_no_notice_and_doubles_none(
    portal: Portal, stack_control: StackControl
) -> None:
    """Order events wait in Kafka for the restarted consumer; each becomes exactly one notice."""
    run = await run_with_crash(portal, stack_control, "messaging")
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)


async def test_killing_kafka_mid_load_loses_no_event_and_charges_each_billing_once(
    portal: Portal, stack_control: StackControl
) -> None:
    """Outboxes hold the events while Kafka is down; relays and consumers reconnect to the restarted broker."""
    run = await run_with_crash(portal, stack_control, "kafka")
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)


async def test_killing_postgresql_mid_load_loses_no_committed_money_and_answers_503_not_500(
    portal: Portal, stack_control: StackControl
) -> None:
    """Every service's database at once: transactions in flight roll back, the clients' retries redo them once."""
    run = await run_with_crash(portal, stack_control, "postgres")
    await assert_nothing_lost_or_doubled(portal, stack_control, run)
    assert_never_500(portal)
