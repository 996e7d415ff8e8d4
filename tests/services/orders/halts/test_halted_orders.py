"""Halted orders on the real stack: a workflow terminated with the ``temporal`` CLI, then settled by staff.

Terminating an order's workflow (one click in the Web UI) used to leave the
order ``awaiting_payment`` or ``purchasing`` forever, with buttons that all
answered 409 and no way to give the customer's money back. Here the
workflow is terminated through the real CLI; the order must then show as
``halted`` with no operations, be listed for staff with the money it holds,
and be settled by a refund through the deposit's ordinary path.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.orders.gateway import OrderWorkflows
from services.orders.halts.sweep import sweep_once
from services.orders.settings import OrdersSettings
from tests.conftest import StackSettings
from tests.services.orders.driver import Driver, purchase_application

pytestmark = pytest.mark.stack

TEMPORAL_CLI = Path(sys.executable).parent / "temporal"


async def _terminate(settings: StackSettings, order_id: str) -> None:
    """What staff do with one click in the Web UI, through the CLI."""
    await _temporal(settings, "terminate", "--workflow-id", f"order-{order_id}", "--reason", "test: by hand")


async def _temporal(settings: StackSettings, command: str, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI),
        "workflow",
        command,
        *args,
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def _paid_order(driver: Driver) -> tuple[str, int]:
    """A one-time purchase order whose billing the real deposits service charged; and what it charged."""
    order_id = await driver.apply(purchase_application("one_time", items=1))
    await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    view = await driver.pay(order_id, 1)
    assert view["status"] == "purchasing"
    return order_id, view["paid_total"]


async def _halted(driver: Driver, order_id: str) -> dict[str, Any]:
    response = await driver.http.get(f"/v1/staff/halted-orders/{order_id}", headers=driver.staff)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _available(driver: Driver) -> int:
    async with httpx.AsyncClient(base_url=driver.deposits_url, timeout=30) as deposits:
        response = await deposits.get("/v1/deposit", headers=driver.customer)
        assert response.status_code == 200, response.text
        available: int = response.json()["available"]
        return available


async def _ledger_balances(driver: Driver) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=driver.deposits_url, timeout=30) as deposits:
        response = await deposits.get(
            "/v1/staff/ledger/audit", params={"customer_id": driver.customer_id}, headers=driver.staff
        )
        assert response.status_code == 200, response.text
        audit: dict[str, Any] = response.json()
        return audit


async def test_a_terminated_paid_order_is_halted_listed_with_its_money_and_settled_once(
    driver: Driver, stack: StackSettings
) -> None:
    assert driver.deposits_api, "the stack's deposits service must be up: the refund goes through its ledger"
    order_id, paid = await _paid_order(driver)
    assert await _available(driver) == 0  # funded with exactly the billing, which was charged

    await _terminate(stack, order_id)

    # The customer's next operation meets the closed workflow: the order is halted there and then.
    refused = await driver.customer_op(order_id, "cancel", {})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("order-halted"), refused.text
    view = await driver.view(order_id)
    assert view["status"] == "halted"
    assert view["pending_operations"] == []
    assert view["next_deadline"] is None
    assert f"{paid:,} yen" in view["halted"]["explanation"]
    again = await driver.customer_op(order_id, "cancel", {})
    assert again.status_code == 409 and again.json()["type"].endswith("order-halted")

    tab = await driver.http.get("/v1/orders", params={"state": "canceled"}, headers=driver.customer)
    assert order_id in [o["order_id"] for o in tab.json()["orders"]]  # ended without delivery: the canceled tab
    listed = await driver.http.get("/v1/staff/orders", params={"status": "halted"}, headers=driver.staff)
    assert order_id in [o["order_id"] for o in listed.json()["orders"]]
    holding = await driver.http.get("/v1/staff/halted-orders", params={"holding": "true"}, headers=driver.staff)
    assert order_id in [o["order_id"] for o in holding.json()["orders"]]
    halted = await _halted(driver, order_id)
    assert halted["cause"] == "terminated" and halted["status_before"] == "purchasing"
    assert halted["detected_by"] in ("operation", "sweep")  # the stack's own sweep may have been first
    assert (halted["paid_total"], halted["refunded_total"], halted["held"]) == (paid, 0, paid)

    settle = await driver.http.post(
        f"/v1/staff/halted-orders/{order_id}/refund", json={"note": "terminated by hand"}, headers=driver.staff
    )
    assert settle.status_code == 202, settle.text
    assert settle.json()["settlement"] == "requested"
    assert settle.json()["refund_amount"] == paid and settle.json()["held"] == 0
    assert settle.json()["refund_requested_by"] == "staff-1"  # the token's subject
    assert settle.json()["refund_key"] == f"refund:{order_id}:1"

    twice = await driver.http.post(f"/v1/staff/halted-orders/{order_id}/refund", json={}, headers=driver.staff)
    assert twice.status_code == 409, twice.text  # the first is on its way: never a second refund

    settled = await driver.wait_for(
        order_id, lambda v: v["halted"]["settled_at"] is not None, "settlement by the deposit"
    )
    assert settled["status"] == "halted" and settled["pending_operations"] == []
    assert [r["status"] for r in settled["refunds"]] == ["refunded"]
    assert (await _halted(driver, order_id))["settlement"] == "refunded"
    assert await _available(driver) == paid  # the money is back in the customer's deposit
    assert (await _ledger_balances(driver))["ok"] is True

    after = await driver.http.post(f"/v1/staff/halted-orders/{order_id}/refund", json={}, headers=driver.staff)
    assert after.status_code == 409, after.text  # it holds nothing any more
    assert "holds no money" in after.json()["detail"]


async def test_the_sweep_finds_a_terminated_order_that_nobody_touches(
    driver: Driver, stack: StackSettings, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id = await driver.apply(purchase_application("one_time", items=1))
    await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    await _terminate(stack, order_id)

    settings = OrdersSettings()
    sessions = db_sessions["orders"]
    await sweep_once(sessions, OrderWorkflows(settings), batch=settings.halt_sweep_batch)

    view = await driver.view(order_id)
    assert view["status"] == "halted"
    assert view["pending_operations"] == []  # the pay and cancel buttons are gone
    assert "You have paid nothing" in view["halted"]["explanation"]
    halted = await _halted(driver, order_id)
    assert (halted["cause"], halted["status_before"], halted["held"]) == ("terminated", "awaiting_payment", 0)
    assert halted["detected_by"] == "sweep"  # this test's pass or the stack's own
    refused = await driver.http.post(f"/v1/staff/halted-orders/{order_id}/refund", json={}, headers=driver.staff)
    assert refused.status_code == 409  # nothing to give back

    untouched = await driver.apply(purchase_application("one_time", items=1))  # its workflow runs: not halted
    await driver.staff_op(untouched, "estimate", {"service_fee": 300, "international_shipping": 1500})
    await sweep_once(sessions, OrderWorkflows(settings), batch=settings.halt_sweep_batch)
    assert (await driver.view(untouched))["status"] == "awaiting_payment"


async def test_a_deposit_answer_that_finds_no_workflow_halts_the_order_and_is_recorded_on_it(
    driver: Driver, stack: StackSettings
) -> None:
    order_id = await driver.apply(purchase_application("one_time", items=1))
    view = await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    await _terminate(stack, order_id)

    # An answer to a charge nobody is waiting for: the bridge has no workflow to signal.
    answer = await driver.deposit_answers(
        order_id, "deposit.charge_rejected", billing_seq=1, revision=1, amount=view["billings"][0]["total"]
    )
    halted = await driver.wait_for(order_id, lambda v: v["status"] == "halted", "halt noticed by the bridge")
    assert halted["pending_operations"] == []
    assert (await _halted(driver, order_id))["detected_by"] in ("deposit answer", "sweep")
    assert answer.id  # processed once: the billing it names was not being charged, so nothing else moved
    assert halted["billings"][0]["status"] == "awaiting_payment" and halted["paid_total"] == 0


async def test_an_order_whose_run_was_reset_away_is_halted_by_the_sweep(
    driver: Driver, stack: StackSettings, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id = await driver.apply(purchase_application("one_time", items=1))
    await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    # Reset to the first workflow task: a new run starts from the application, the estimated run is terminated.
    await _temporal(
        stack, "reset", "--workflow-id", f"order-{order_id}", "--type", "FirstWorkflowTask", "--reason", "t"
    )

    settings = OrdersSettings()
    await sweep_once(db_sessions["orders"], OrderWorkflows(settings), batch=settings.halt_sweep_batch)

    view = await driver.view(order_id)
    assert view["status"] == "halted" and view["pending_operations"] == []
    halted = await _halted(driver, order_id)
    assert (halted["cause"], halted["status_before"]) == ("reset", "awaiting_payment")
