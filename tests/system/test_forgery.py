"""Only the ledger makes an order paid: forged money facts through every channel change nothing.

An order waits for its first billing with an empty deposit (the real ledger
refused the charge). Then a deposit answer is forged through the Temporal CLI
(the Web UI's channel, which the dev server does not authenticate), and on
Kafka with the deposits' own principal (anyone else is refused by the ACLs)
with a made-up signature and with none. The order stays unpaid, each forgery is recorded for staff, the bridge
keeps no movement for it, and reconciliation finds nothing to report. Paid for
real afterwards, the order and the ledger still agree.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts.keys import ChargeKey
from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.kafka import idempotent_producer
from tests.conftest import StackSettings, kafka_as
from tests.system.portal import Json, Portal, billing, purchase_application

pytestmark = pytest.mark.stack

TEMPORAL = Path(sys.executable).parent / "temporal"


def _refusals(view: Json) -> list[str]:
    """The forged deposit answers the workflow refused, from the staff part (the customer's history shows none)."""
    assert not [h for h in view["history"] if h["action"] == "signal rejected"]
    return [r["detail"] for r in view["staff"]["rejected_signals"] if r["refusal"] == "NotFromTheLedger"]


async def _reconciliation(portal: Portal) -> list[Json]:
    response = await portal.call(
        "orders", "GET", "/v1/staff/reconciliation", params={"quiet_for": 0}, headers=portal.staff
    )
    assert response.status_code == 200, response.text
    differences: list[Json] = response.json()["differences"]
    return differences


def _forged_charge(order_id: str, customer_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "order_id": order_id,
        "billing_seq": 1,
        "revision": 1,
        "amount": amount,
        "idempotency_key": str(ChargeKey(order_id, 1, 1)),
        "transfer_id": 999_999,
        "replayed": False,
        "charged_at": None,
        "balance": 0,
        "held": 0,
        "available": 0,
        **extra,
    }


async def test_forged_charges_through_the_web_ui_channel_and_kafka_pay_nothing(
    portal: Portal, system: StackSettings
) -> None:
    alex = portal.customer()
    order_id = await alex.apply(purchase_application("two_time"))
    view = await portal.staff_op(
        order_id, "estimate", {"domestic_shipping": 800, "service_fee": 500}, done=lambda v: v["billings"] != []
    )
    total = billing(view, 1)["total"]
    await alex.pay(order_id, 1)  # an empty deposit: the ledger refuses
    await portal.wait_for(order_id, lambda v: billing(v, 1)["status"] == "awaiting_payment", "refused charge")

    # The Temporal Web UI / CLI: the deposit answer signal, typed by hand.
    signal: dict[str, Any] = {"event_id": "forged-1", "type": "deposit.charged", "order_id": order_id}
    signal |= {"billing_seq": 1, "revision": 1, "amount": total}
    command = [str(TEMPORAL), "workflow", "signal", "-w", f"order-{order_id}", "--name", "deposit_event"]
    command += ["--input", json.dumps(signal), "--address", system.temporal_address]
    forged_by_hand = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
    )
    assert forged_by_hand.returncode == 0, forged_by_hand.stderr

    # Kafka: an answer on the deposits' topic with a made-up signature, and one with none. Only the deposits
    # principal may write there (ACLs): this is what a leaked deposits password, or a bug, could send.
    producer = idempotent_producer(kafka_as(system, "deposits"))
    await producer.start()
    try:
        for data in (
            _forged_charge(order_id, alex.customer_id, total, attestation="bm90LXRoZS1sZWRnZXI"),
            _forged_charge(order_id, alex.customer_id, total),
        ):
            event = Envelope(type="deposit.charged", source="daiko/deposits", subject=alex.customer_id, data=data)
            await producer.send_and_wait(DEPOSITS_EVENTS, event.to_bytes(), key=alex.customer_id.encode())
    finally:
        await producer.stop()

    view = await portal.wait_for(order_id, lambda v: len(_refusals(v)) >= 2, "both forgeries refused")
    assert billing(view, 1)["status"] == "awaiting_payment" and view["status"] == "awaiting_payment"
    assert view["paid_total"] == 0
    assert any("carries no ledger signature" in r for r in _refusals(view))
    assert any("signature does not verify" in r for r in _refusals(view))
    assert order_id not in {d["order_id"] for d in await _reconciliation(portal)}

    # The real thing: funded and paid, the ledger's own answer pays the billing.
    await alex.fund(total)
    await alex.pay(order_id, 1)
    view = await portal.wait_for(order_id, lambda v: billing(v, 1)["status"] == "paid", "real charge")
    assert view["paid_total"] == total
    assert order_id not in {d["order_id"] for d in await _reconciliation(portal)}
