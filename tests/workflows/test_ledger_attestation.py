"""Only the ledger makes an order paid or refunded: a money fact counts only with the ledger's signature.

The deposit answer reaches the workflow as the ``deposit_event`` signal, which
anyone with access to Temporal (the Web UI, the CLI) or to Kafka (through the
bridge) can send. Every forged shape below is recorded as refused in the
order's history and changes nothing; the genuine answer still pays the order.
"""

from __future__ import annotations

from typing import Any

from services.deposits.service import attest
from tests.workflows.order_harness import (
    ESTIMATE,
    LEDGER_SIGNING_KEY,
    OrderHandle,
    Shop,
    application,
    deposit_event,
    ledger_answer,
)
from workflows.models import BillingStatus, OrderStatus, OrderView, PayBillingRequest

BILLING_TOTAL = 12_300  # application() + ESTIMATE


async def _awaiting_charge(shop: Shop) -> tuple[OrderHandle, dict[str, Any]]:
    handle = await shop.apply(application())
    await shop.staff(handle, "estimate", ESTIMATE)
    await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    [command] = shop.recorder.commands(handle.id.removeprefix("order-"), "deposit.charge_requested")
    return handle, command.data


async def _refusals(shop: Shop, handle: OrderHandle) -> list[str]:
    """Rejected money facts: in the staff part, never in the customer's history."""
    return [detail for detail in await shop.rejections(handle) if "NotFromTheLedger" in detail]


async def _assert_still_unpaid(shop: Shop, handle: OrderHandle, refused: int = 1) -> OrderView:
    view = await shop.view(handle)
    assert view.billings[0].status is BillingStatus.CHARGING
    assert view.status is OrderStatus.AWAITING_PAYMENT
    assert "order.paid" not in shop.recorder.events(view.order_id)
    assert len(await _refusals(shop, handle)) == refused
    assert "signal rejected" not in {h.action for h in view.history}
    return view


async def test_a_charge_without_the_ledgers_signature_pays_nothing(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    forged = deposit_event(
        command["order_id"], "deposit.charged", billing_seq=1, revision=1, amount=BILLING_TOTAL, transfer_id=7
    )
    await shop.deliver(handle, forged.model_dump(mode="json"))
    await _assert_still_unpaid(shop, handle)
    assert "carries no ledger signature" in (await _refusals(shop, handle))[0]


async def test_a_charge_signed_with_another_key_pays_nothing(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    signature = attest(
        "ab" * 32,
        "deposit.charged",
        customer_id=command["customer_id"],
        order_id=command["order_id"],
        key=command["idempotency_key"],
        amount=BILLING_TOTAL,
        transfer_id=7,
    )
    forged = deposit_event(
        command["order_id"],
        "deposit.charged",
        billing_seq=1,
        revision=1,
        amount=BILLING_TOTAL,
        transfer_id=7,
        attestation=signature,
    )
    await shop.deliver(handle, forged.model_dump(mode="json"))
    await _assert_still_unpaid(shop, handle)
    assert "signature does not verify" in (await _refusals(shop, handle))[0]


async def test_a_charge_of_another_amount_than_the_billing_pays_nothing(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    one_yen = ledger_answer({**command, "amount": 1}, "deposit.charged", billing_seq=1, revision=1, amount=1)
    await shop.deliver(handle, one_yen)
    await _assert_still_unpaid(shop, handle)
    assert f"charged 1 yen for billing 1 of {BILLING_TOTAL} yen" in (await _refusals(shop, handle))[0]


async def test_a_genuine_answer_for_another_customer_or_order_pays_nothing(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    elsewhere = ledger_answer(
        {**command, "customer_id": "cust-someone-else"},
        "deposit.charged",
        billing_seq=1,
        revision=1,
        amount=BILLING_TOTAL,
    )
    await shop.deliver(handle, elsewhere)
    await _assert_still_unpaid(shop, handle)
    _, other_command = await _awaiting_charge(shop)
    theirs = ledger_answer(other_command, "deposit.charged", billing_seq=1, revision=1, amount=BILLING_TOTAL)
    await shop.deliver(handle, theirs.model_copy(update={"order_id": command["order_id"]}))
    await _assert_still_unpaid(shop, handle, refused=2)


async def test_a_refund_nobody_asked_for_is_refused(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    invented = ledger_answer(
        {**command, "idempotency_key": f"refund:{command['order_id']}:9"},
        "deposit.refunded",
        amount=500,
        refund_key=f"refund:{command['order_id']}:9",
    )
    await shop.deliver(handle, invented)
    await _assert_still_unpaid(shop, handle)
    assert "never asked for" in (await _refusals(shop, handle))[0]


async def test_the_ledgers_own_answer_pays_the_billing_after_forgeries_were_refused(shop: Shop) -> None:
    handle, command = await _awaiting_charge(shop)
    forged = deposit_event(command["order_id"], "deposit.charged", billing_seq=1, revision=1, amount=BILLING_TOTAL)
    await shop.deliver(handle, forged)
    await shop.answer_deposit(handle)
    view = await shop.view(handle)
    assert view.billings[0].status is BillingStatus.PAID
    assert view.billings[0].paid_amount == BILLING_TOTAL
    assert shop.recorder.events(view.order_id).count("order.paid") == 1
    assert LEDGER_SIGNING_KEY  # the harness answered as the deposits service does, with the stack's key
