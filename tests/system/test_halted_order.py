"""A paid order whose workflow staff terminate, through every service: halted, listed, refunded, audited.

The customer pays a two-time order's first billing from a deposit funded by
bank transfer; staff then terminate the order's workflow with the ``temporal``
CLI (what one click in the Web UI does). The customer's order list and page
show the order halted with nothing to press; staff find it with the money it
holds and refund it. The refund is seen as a command and its answer on
Kafka, the money is back in the customer's deposit, and the ledger still
balances.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from daiko.events import DEPOSITS_COMMANDS, DEPOSITS_EVENTS
from tests.conftest import kafka_as
from tests.system.feed import EventFeed
from tests.system.portal import Portal, billing, purchase_application

pytestmark = pytest.mark.stack

TEMPORAL_CLI = Path(sys.executable).parent / "temporal"


async def _terminate(portal: Portal, order_id: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI),
        "workflow",
        "terminate",
        "--workflow-id",
        f"order-{order_id}",
        "--reason",
        "system test: terminated from the Web UI",
        "--address",
        portal.settings.temporal_address,
        "--namespace",
        portal.settings.temporal_namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def test_a_terminated_paid_order_is_halted_for_the_customer_and_refunded_by_staff_through_the_ledger(
    portal: Portal,
) -> None:
    money = EventFeed(kafka_as(portal.settings), DEPOSITS_COMMANDS, DEPOSITS_EVENTS)
    await money.start()
    try:
        alex = portal.customer()
        await alex.fund(20_000)
        order_id = await alex.apply(purchase_application("two_time"))
        estimated = await portal.staff_op(
            order_id,
            "estimate",
            {"domestic_shipping": 800, "service_fee": 500},
            done=lambda v: v["status"] == "awaiting_payment",
        )
        first = billing(estimated, 1)["total"]
        await alex.pay(order_id, 1)
        await alex.wait_for(order_id, lambda v: billing(v, 1)["status"] == "paid", "payment of billing 1")
        assert (await alex.deposit())["balance"] == 20_000 - first

        await _terminate(portal, order_id)

        # The customer presses a button that is still on the page: the order is found halted.
        refused = await portal.attempt("orders", "POST", f"/v1/orders/{order_id}/cancel", json={}, headers=alex.auth)
        assert refused is not None and refused.status_code == 409
        listed = next(o for o in await alex.orders() if o["order_id"] == order_id)
        assert listed["status"] == "halted" and listed["pending_operations"] == []
        page = await alex.view(order_id)
        assert page["status"] == "halted" and page["pending_operations"] == []
        assert f"{first:,} yen you paid" in page["halted"]["explanation"]

        halted = await portal.call(
            "orders", "GET", "/v1/staff/halted-orders", params={"holding": "true"}, headers=portal.staff
        )
        found = next(o for o in halted.json()["orders"] if o["order_id"] == order_id)
        assert (found["cause"], found["held"]) == ("terminated", first)

        settle = await portal.attempt(
            "orders", "POST", f"/v1/staff/halted-orders/{order_id}/refund", json={}, headers=portal.staff
        )
        assert settle is not None and settle.status_code == 202, settle and settle.text
        settled = await alex.wait_for(order_id, lambda v: v["halted"]["settled_at"] is not None, "settlement")
        assert settled["paid_total"] - settled["refunded_total"] == 0

        commands = await money.until(
            order_id, DEPOSITS_COMMANDS, lambda es: any(e.type == "deposit.refund_requested" for e in es), "refund"
        )
        answers = await money.until(
            order_id, DEPOSITS_EVENTS, lambda es: any(e.type == "deposit.refunded" for e in es), "refunded"
        )
        command = next(e for e in commands if e.type == "deposit.refund_requested")
        refunded = next(e for e in answers if e.type == "deposit.refunded")
        assert command.data["amount"] == refunded.data["amount"] == first
        assert command.data["idempotency_key"] == refunded.data["idempotency_key"] == f"refund:{order_id}:1"

        assert (await alex.deposit())["balance"] == 20_000  # every yen back
        again = await portal.attempt(
            "orders", "POST", f"/v1/staff/halted-orders/{order_id}/refund", json={}, headers=portal.staff
        )
        assert again is not None and again.status_code == 409
        audit = await portal.ledger_audit()
        assert audit["ok"] is True and audit["debits_posted"] == audit["credits_posted"]
    finally:
        await money.stop()
