"""What the deposits service says and hears on Kafka: the models of ``contracts.deposits``, sent through the outbox.

Every event is keyed and ``subject``-ed by the customer id, so one customer's
deposit events stay in order, and leaves through the outbox in the caller's
transaction. The ledger's key of a charge or refund is the command's typed
``idempotency_key`` (:class:`contracts.keys.ChargeKey`/``RefundKey``) as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.deposits import (
    Charged,
    ChargeRejected,
    Credited,
    Refunded,
    RefundRejected,
    WithdrawalCanceled,
    WithdrawalPaid,
    WithdrawalRejected,
    WithdrawalRequested,
)
from contracts.topics import DEPOSITS_COMMANDS, DEPOSITS_EVENTS, source_of, topic
from daiko.events import Envelope
from daiko.outbox import enqueue, enqueue_many
from services.deposits.db import Outbox
from services.deposits.ledger.repository import Deposit

SOURCE = source_of("deposits")
COMMANDS = topic(DEPOSITS_COMMANDS)

AnyDepositEvent = (
    Charged
    | ChargeRejected
    | Refunded
    | RefundRejected
    | Credited
    | WithdrawalRequested
    | WithdrawalPaid
    | WithdrawalRejected
    | WithdrawalCanceled
)


class Balances(TypedDict):
    """The deposit after a movement: the last fields of every deposit event."""

    balance: int
    held: int
    available: int


def balances(deposit: Deposit) -> Balances:
    return Balances(balance=deposit.balance, held=deposit.held, available=deposit.available)


def envelope_of(event: AnyDepositEvent) -> Envelope:
    return Envelope(type=event.type, source=SOURCE, subject=event.customer_id, data=event.to_data())


async def emit_all(session: AsyncSession, events: Sequence[AnyDepositEvent]) -> None:
    """As :func:`emit` for each, in order, in one statement (a consumer batch's answers)."""
    await enqueue_many(session, Outbox, [(DEPOSITS_EVENTS, e.customer_id, envelope_of(e)) for e in events])


def emit(session: AsyncSession, event: AnyDepositEvent) -> Envelope:
    """Adds the event to the caller's transaction: it leaves only if the money movement commits."""
    envelope = envelope_of(event)
    enqueue(session, Outbox, topic=DEPOSITS_EVENTS, key=event.customer_id, event=envelope)
    return envelope
