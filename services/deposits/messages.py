"""What the deposits service says and hears on Kafka (docs/architecture.md): types, shapes, and the emit helper.

Every event is keyed and ``subject``-ed by the customer id, so one customer's
deposit events stay in order, and leaves through the outbox in the caller's
transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.outbox import enqueue
from services.deposits.db import Outbox
from services.deposits.ledger_store import Deposit

SOURCE = "daiko.deposits"

# commands in (daiko.deposits.commands.v1)
CHARGE_REQUESTED = "deposit.charge_requested"
REFUND_REQUESTED = "deposit.refund_requested"

# events out (daiko.deposits.events.v1)
CHARGED = "deposit.charged"
CHARGE_REJECTED = "deposit.charge_rejected"
REFUNDED = "deposit.refunded"
REFUND_REJECTED = "deposit.refund_rejected"
CREDITED = "deposit.credited"
WITHDRAWAL_REQUESTED = "deposit.withdrawal_requested"
WITHDRAWAL_PAID = "deposit.withdrawal_paid"
WITHDRAWAL_REJECTED = "deposit.withdrawal_rejected"

Id = Annotated[str, Field(min_length=1, max_length=100)]
Yen = Annotated[StrictInt, Field(gt=0)]


class ChargeRequested(BaseModel):
    """``deposit.charge_requested`` data, produced by the order workflow."""

    model_config = ConfigDict(extra="ignore")

    order_id: Id
    customer_id: Id
    billing_seq: StrictInt
    revision: StrictInt
    amount: Yen
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    def transfer_key(self) -> str:
        """The command's key, kept in the charge namespace of the ledger's keys."""
        key = self.idempotency_key or f"charge:{self.order_id}:{self.billing_seq}:{self.revision}"
        return key if key.startswith("charge:") else f"charge:{key}"


class RefundRequested(BaseModel):
    """``deposit.refund_requested`` data: money back from an order to its customer's deposit."""

    model_config = ConfigDict(extra="ignore")

    order_id: Id
    customer_id: Id
    amount: Yen
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    reason: Annotated[str, Field(max_length=1000)] = ""

    def transfer_key(self) -> str:
        key = self.idempotency_key
        return key if key.startswith("refund:") else f"refund:{key}"


def deposit_fields(deposit: Deposit) -> dict[str, int]:
    return {"balance": deposit.balance, "held": deposit.held, "available": deposit.available}


def emit(session: AsyncSession, event_type: str, customer_id: str, data: dict[str, Any]) -> Envelope:
    """Adds the event to the caller's transaction: it leaves only if the money movement commits."""
    event = Envelope(type=event_type, source=SOURCE, subject=customer_id, data={"customer_id": customer_id, **data})
    enqueue(session, Outbox, topic=DEPOSITS_EVENTS, key=customer_id, event=event)
    return event
