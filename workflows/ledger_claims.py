"""Which deposit answers are money facts, and what the ledger must have signed for each.

Pure: the workflow builds the claim from its own order (its customer, its
billing's key and amount, the refund it asked for) and the answer's transfer,
then has the ``verify_ledger_attestation`` activity check the signature. A
charge for another amount than the billing's, a refund nobody asked for, or an
answer without a signature is refused before any rule sees it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.attestation import ledger_statement
from contracts.keys import ChargeKey
from workflows.models import DepositEvent
from workflows.order_state import Order

LEDGER_ATTESTED_PATCH = "deposit-answers-attested-by-the-ledger"
"""``workflow.patched`` id: orders started before it replay their deposit answers unverified, as they ran."""


class LedgerClaim(BaseModel):
    """What the activity verifies: the statement (as text, it is ASCII) and the ledger's signature over it."""

    model_config = ConfigDict(frozen=True)

    statement: str
    attestation: str


def ledger_claim(order: Order, event: DepositEvent) -> LedgerClaim | str | None:
    """The claim to verify for a money fact, a reason to refuse it at once, or None for an answer moving no money."""
    if event.type not in ("deposit.charged", "deposit.refunded"):
        return None  # a rejection moves no money: the worst a forged one does is ask the customer to pay again
    if event.order_id != order.order_id:
        return f"{event.type} {event.event_id} is for order {event.order_id}"
    if event.attestation is None or event.transfer_id is None:
        return f"{event.type} {event.event_id} carries no ledger signature"
    if event.type == "deposit.charged":
        key = str(ChargeKey(order.order_id, event.billing_seq or 0, event.revision or 0))
        billing = order.billing(event.billing_seq or 0)
        if billing is not None and billing.revision == event.revision and billing.total != event.amount:
            return f"{event.event_id} charged {event.amount} yen for billing {billing.seq} of {billing.total} yen"
    else:
        key = event.refund_key or ""
        refund = next((r for r in order.refunds if r.key == key), None)
        if refund is None:
            return f"{event.event_id} refunds under {key}, which this order never asked for"
        if refund.amount != event.amount:
            return f"{event.event_id} refunded {event.amount} yen where {refund.amount} yen were asked"
    statement = ledger_statement(
        event_type=event.type,
        customer_id=order.customer_id,
        order_id=order.order_id,
        idempotency_key=key,
        amount=event.amount,
        transfer_id=event.transfer_id,
    )
    return LedgerClaim(statement=statement.decode(), attestation=event.attestation)
