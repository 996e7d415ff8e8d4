"""The bridge from daiko.deposits.events.v1 to the orders' workflows (consumer group orders-deposit-bridge).

Events are put on the real topic as the deposits service would send them; the
stack's orders process consumes them. A real deposits service may answer the
same charge too (with a rejection, this customer having no money): every
assertion here holds whichever answer comes first.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.events import Envelope
from services.orders.db import DeadLetter, ProcessedEvent
from services.orders.events import DEPOSIT_BRIDGE, deposit_bridge_handler
from services.orders.gateway import OrderWorkflows
from services.orders.settings import OrdersSettings
from tests.conftest import StackSettings
from tests.services.orders.driver import Driver, billing, purchase_application

pytestmark = pytest.mark.stack


async def _estimated(driver: Driver, *, charging: bool = True) -> tuple[str, int]:
    """An order with billing 1 issued (and being charged), and that billing's total."""
    order_id = await driver.apply(purchase_application("one_time", items=1))
    view = await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    if charging:
        response = await driver.customer_op(order_id, "payments", {"billing_seq": 1})
        assert response.status_code == 202, response.text
    return order_id, billing(view, 1)["total"]


async def _processed(sessions: async_sessionmaker[AsyncSession], event_id: str) -> int:
    async with sessions() as session:
        count: int = (
            await session.scalar(
                select(func.count())
                .select_from(ProcessedEvent)
                .where(ProcessedEvent.consumer == DEPOSIT_BRIDGE, ProcessedEvent.event_id == event_id)
            )
            or 0
        )
    return count


async def _dead_letter_error(sessions: async_sessionmaker[AsyncSession], event_id: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(
            select(DeadLetter.error).where(DeadLetter.consumer == DEPOSIT_BRIDGE, DeadLetter.event_id == event_id)
        )


async def _wait_parked(sessions: async_sessionmaker[AsyncSession], event_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while (error := await _dead_letter_error(sessions, event_id)) is None:
        assert time.monotonic() < deadline, f"event {event_id} was not dead-lettered within {timeout}s"
        await asyncio.sleep(0.1)
    return error


async def _wait_processed(sessions: async_sessionmaker[AsyncSession], event_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while await _processed(sessions, event_id) == 0:
        assert time.monotonic() < deadline, f"event {event_id} was not consumed within {timeout}s"
        await asyncio.sleep(0.1)


async def test_a_charge_answer_on_the_topic_pays_the_billing_once_however_often_it_is_delivered(
    driver: Driver, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id, total = await _estimated(driver)
    charged = await driver.deposit_answers(
        order_id,
        "deposit.charged",
        billing_seq=1,
        revision=1,
        amount=total,
        idempotency_key=f"charge:{order_id}:1:1",
    )
    view = await driver.wait_for(order_id, lambda v: billing(v, 1)["status"] != "charging", "deposit answer")
    ours_came_first = billing(view, 1)["status"] == "paid"
    if not ours_came_first:  # a real deposits service rejected it first (no money): ours, behind it, still pays
        view = await driver.wait_for(order_id, lambda v: billing(v, 1)["status"] == "paid", "our charge, second")
    assert billing(view, 1)["status"] == "paid"
    assert view["status"] == "purchasing"

    await driver.send(charged)  # re-delivered: the same event id
    await driver.send(charged)
    marker = await driver.deposit_answers("P000000-NOSUCHID", "deposit.charged", billing_seq=1, revision=1, amount=1)
    await _wait_processed(db_sessions["orders"], marker.id)  # same key, same partition: the copies are behind us

    assert await _processed(db_sessions["orders"], charged.id) == 1
    view = await driver.staff_view(order_id)
    assert [h["action"] for h in view["history"]].count("paid") == 1
    assert view["paid_total"] == total
    if ours_came_first:
        assert view["refunds"] == []  # nothing charged twice, nothing to give back


async def test_an_answer_for_an_order_that_is_not_running_is_skipped_and_the_next_one_still_arrives(
    driver: Driver, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id, total = await _estimated(driver, charging=False)
    nowhere = await driver.deposit_answers("P000000-NOSUCHID", "deposit.charged", billing_seq=1, revision=1, amount=100)
    unreadable = await driver.deposit_answers(order_id, "deposit.charged", amount=100)  # which billing?
    unknown = await driver.deposit_answers(order_id, "deposit.gift_card_added", amount=100)
    credited = await driver.deposit_answers(order_id, "deposit.credited", amount=5000)  # not for orders
    view = await driver.pay(order_id, 1)  # sent after the others, on the same partition (same key)
    assert billing(view, 1)["status"] == "paid"
    for event in (nowhere, credited):
        await _wait_processed(db_sessions["orders"], event.id)
    # What breaks the contract is parked with the reason, at once, and holds nothing up.
    assert "billing_seq: Field required" in await _wait_parked(db_sessions["orders"], unreadable.id)
    assert "is not a type of daiko.deposits.events.v1" in await _wait_parked(db_sessions["orders"], unknown.id)
    assert billing(await driver.staff_view(order_id), 1)["paid_amount"] == total


async def test_a_rejected_charge_reopens_the_billing_with_the_shortfall(driver: Driver) -> None:
    order_id, total = await _estimated(driver)
    await driver.deposit_answers(
        order_id,
        "deposit.charge_rejected",
        billing_seq=1,
        revision=1,
        amount=total,
        shortfall=total,
        idempotency_key=f"charge:{order_id}:1:1",
        rejection="insufficient-funds",
    )
    view = await driver.wait_for(order_id, lambda v: billing(v, 1)["status"] == "awaiting_payment", "rejection")
    assert billing(view, 1)["last_rejection"]["shortfall"] == total
    [pay] = [op for op in (await driver.view(order_id))["pending_operations"] if op["operation"] == "pay_billing"]
    assert pay["shortfall"] == total  # R2: the green button says how much is missing


async def test_the_bridge_handler_skips_an_order_whose_workflow_does_not_exist(
    stack: StackSettings, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    workflows = OrderWorkflows(OrdersSettings())
    handler = deposit_bridge_handler(workflows, OrdersSettings().ledger_public_keys)
    event = Envelope(
        type="deposit.refunded",
        source="daiko/deposits",
        subject="cust-x",
        data={
            "customer_id": "cust-x",
            "order_id": "P000000-NEVERSTARTED",
            "amount": 100,
            "idempotency_key": "refund:P000000-NEVERSTARTED:1",
            "reason": "dispute",
            "transfer_id": 1,
            "attestation": "c2lnbmVk",
            "replayed": False,
            "balance": 100,
            "held": 0,
            "available": 100,
        },
    )
    async with db_sessions["orders"]() as session:  # the handler first asks the read model if the order is halted
        await handler(session, event)  # returns instead of raising (no endless retry)


async def test_the_bridge_lag_is_exported_in_metrics(orders_http: httpx.AsyncClient, worker: None) -> None:
    deadline = time.monotonic() + 30
    while True:
        metrics = (await orders_http.get("/metrics")).text
        lags = [line for line in metrics.splitlines() if line.startswith("daiko_consumer_lag_messages{")]
        if any(f'consumer="{DEPOSIT_BRIDGE}"' in line for line in lags):
            break
        assert time.monotonic() < deadline, "no daiko_consumer_lag_messages for the bridge in /metrics"
        await asyncio.sleep(0.5)
    assert any('topic="daiko.deposits.events.v1"' in line for line in lags)
