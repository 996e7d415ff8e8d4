"""What the ledger attests when it tells an order that money moved.

A ``deposit.charged`` or ``deposit.refunded`` event carries an ``attestation``:
the deposits service's signature over :func:`ledger_statement`, made in the
same transaction that posted the transfer. The order's workflow accepts the
money fact only if the signature verifies with the ledger's public key for
exactly this customer, order, key, amount and transfer: a signal typed into
the Temporal Web UI, or an event written to Kafka by anyone but the ledger,
cannot make an order paid or refunded. The statement is built the same way on
both sides from this one function.
"""

from __future__ import annotations

from typing import Literal

STATEMENT_VERSION = "daiko.ledger.v1"
AttestedType = Literal["deposit.charged", "deposit.refunded"]


def ledger_statement(
    *, event_type: AttestedType, customer_id: str, order_id: str, idempotency_key: str, amount: int, transfer_id: int
) -> bytes:
    """The exact bytes the ledger signs; every field is one the workflow checks against its own order."""
    fields = (STATEMENT_VERSION, event_type, customer_id, order_id, idempotency_key, str(amount), str(transfer_id))
    return "\n".join(fields).encode()
