"""Charges and refunds for orders: every payment of a billing, and every refund, moves through here.

A charge posts deposit → the order's revenue account if the deposit's
*available* balance covers it, under the deposit's row lock; otherwise it is
refused with the shortfall. A refund posts revenue → deposit, never more than
the order was charged (the revenue account may not go below zero) and only to
the customer who paid. Both answer with an event in the same transaction.

Idempotency: a successful transfer consumes its key; the same key again (the
workflow retrying with a new command id) changes nothing and answers again with
the original result, marked ``replayed``. A refusal does not consume the key,
so the same billing can be charged once the customer has paid in.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.deposits.db import Account
from services.deposits.domain import TransferKind
from services.deposits.ledger import IdempotencyConflict, InsufficientFunds, revenue_account
from services.deposits.ledger_store import AccountRef, Movement, deposit_of, post
from services.deposits.messages import (
    CHARGE_REJECTED,
    CHARGED,
    REFUND_REJECTED,
    REFUNDED,
    ChargeRequested,
    RefundRequested,
    deposit_fields,
    emit,
)

log = logging.getLogger(__name__)


async def charge(*, session: AsyncSession, command: ChargeRequested) -> str:
    """Charge a billing to the deposit; returns the type of the answer it emitted."""
    key = command.transfer_key()
    echo: dict[str, Any] = {
        "order_id": command.order_id,
        "billing_seq": command.billing_seq,
        "revision": command.revision,
        "amount": command.amount,
        "idempotency_key": command.idempotency_key or key,
    }
    try:
        posted = await post(
            session,
            Movement(
                key=key,
                kind=TransferKind.CHARGE,
                customer_id=command.customer_id,
                debit=AccountRef.deposit(command.customer_id),
                credit=AccountRef.revenue(command.order_id, command.customer_id),
                amount=command.amount,
                order_id=command.order_id,
                billing_seq=command.billing_seq,
                revision=command.revision,
            ),
        )
    except InsufficientFunds as exc:
        deposit = await deposit_of(session, command.customer_id)
        emit(
            session,
            CHARGE_REJECTED,
            command.customer_id,
            {**echo, "rejection": "insufficient-funds", "shortfall": exc.shortfall, **deposit_fields(deposit)},
        )
        return CHARGE_REJECTED
    except IdempotencyConflict as exc:
        log.error("charge key reused for a different charge", extra={"idempotency_key": key})
        deposit = await deposit_of(session, command.customer_id)
        emit(
            session,
            CHARGE_REJECTED,
            command.customer_id,
            {
                **echo,
                "rejection": "idempotency-key-conflict",
                "detail": str(exc),
                "shortfall": 0,
                **deposit_fields(deposit),
            },
        )
        return CHARGE_REJECTED
    emit(
        session,
        CHARGED,
        command.customer_id,
        {
            **echo,
            "transfer_id": posted.transfer.id,
            "replayed": posted.replayed,
            "charged_at": posted.transfer.created_at.isoformat() if posted.transfer.created_at else None,
            **deposit_fields(posted.deposit),
        },
    )
    return CHARGED


async def refund(*, session: AsyncSession, command: RefundRequested) -> str:
    """Refund (part of) what an order was charged back to its customer's deposit."""
    key = command.transfer_key()
    echo: dict[str, Any] = {
        "order_id": command.order_id,
        "amount": command.amount,
        "idempotency_key": command.idempotency_key,
        "reason": command.reason,
    }
    owner = await session.scalar(select(Account.customer_id).where(Account.code == revenue_account(command.order_id)))
    if owner is not None and owner != command.customer_id:
        deposit = await deposit_of(session, command.customer_id)
        emit(
            session,
            REFUND_REJECTED,
            command.customer_id,
            {**echo, "rejection": "order-charged-to-another-customer", "refundable": 0, **deposit_fields(deposit)},
        )
        return REFUND_REJECTED
    try:
        posted = await post(
            session,
            Movement(
                key=key,
                kind=TransferKind.REFUND,
                customer_id=command.customer_id,
                debit=AccountRef.revenue(command.order_id, command.customer_id),
                credit=AccountRef.deposit(command.customer_id),
                amount=command.amount,
                order_id=command.order_id,
                note=command.reason or None,
            ),
        )
    except (InsufficientFunds, IdempotencyConflict) as exc:
        refundable = exc.available if isinstance(exc, InsufficientFunds) else 0
        rejection = "exceeds-amount-charged" if isinstance(exc, InsufficientFunds) else "idempotency-key-conflict"
        deposit = await deposit_of(session, command.customer_id)
        emit(
            session,
            REFUND_REJECTED,
            command.customer_id,
            {**echo, "rejection": rejection, "refundable": refundable, **deposit_fields(deposit)},
        )
        return REFUND_REJECTED
    emit(
        session,
        REFUNDED,
        command.customer_id,
        {**echo, "transfer_id": posted.transfer.id, "replayed": posted.replayed, **deposit_fields(posted.deposit)},
    )
    return REFUNDED
