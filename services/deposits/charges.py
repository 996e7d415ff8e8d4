"""Charges and refunds for orders: every payment of a billing, and every refund, moves through here.

A charge posts deposit → the order's revenue account if the deposit's
*available* balance covers it, under the deposit's row lock; otherwise it is
refused with the shortfall. A refund posts revenue → deposit, never more than
the order was charged (the revenue account may not go below zero) and only to
the customer who paid. Both answer with an event in the same transaction.

Every charge and refund answer is signed with the ledger's key
(``contracts.attestation``): the orders' workflows believe a money fact only
with that signature, so nothing but a posted transfer can make an order paid.

Idempotency: a successful transfer consumes its key; the same key again (the
workflow retrying with a new command id) changes nothing and answers again with
the original result, marked ``replayed``. A refusal does not consume the key,
so the same billing can be charged once the customer has paid in.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.attestation import AttestedType, ledger_statement
from contracts.deposits import Charged, ChargeRejected, ChargeRequested, Refunded, RefundRejected, RefundRequested
from daiko.attestation import sign
from services.deposits.db import Account
from services.deposits.domain import TransferKind
from services.deposits.ledger import IdempotencyConflict, InsufficientFunds, revenue_account
from services.deposits.ledger_store import AccountRef, Movement, Posted, deposit_of, post
from services.deposits.messages import balances, emit

log = logging.getLogger(__name__)


def attest(
    signing_key: str,
    event_type: AttestedType,
    *,
    customer_id: str,
    order_id: str,
    key: str,
    amount: int,
    transfer_id: int,
) -> str:
    """The ledger's signature over what it just posted, in the transaction that posted it."""
    statement = ledger_statement(
        event_type=event_type,
        customer_id=customer_id,
        order_id=order_id,
        idempotency_key=key,
        amount=amount,
        transfer_id=transfer_id,
    )
    return sign(signing_key, statement)


def _attest_posted(
    signing_key: str, event_type: AttestedType, command: ChargeRequested | RefundRequested, posted: Posted
) -> str:
    """The signature of the answer to ``command``, over the transfer the ledger just posted for it."""
    return attest(
        signing_key,
        event_type,
        customer_id=command.customer_id,
        order_id=command.order_id,
        key=str(command.idempotency_key),
        amount=posted.transfer.amount,
        transfer_id=posted.transfer.id,
    )


async def charge(*, session: AsyncSession, command: ChargeRequested, signing_key: str) -> str:
    """Charge a billing to the deposit; returns the type of the answer it emitted."""
    key = str(command.idempotency_key)
    echo = {
        "customer_id": command.customer_id,
        "order_id": command.order_id,
        "billing_seq": command.billing_seq,
        "revision": command.revision,
        "amount": command.amount,
        "idempotency_key": command.idempotency_key,
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
            ChargeRejected(**echo, rejection="insufficient-funds", shortfall=exc.shortfall, **balances(deposit)),
        )
        return ChargeRejected.type
    except IdempotencyConflict as exc:
        log.error("charge key reused for a different charge", extra={"idempotency_key": key})
        deposit = await deposit_of(session, command.customer_id)
        emit(
            session,
            ChargeRejected(
                **echo,
                rejection="idempotency-key-conflict",
                detail=str(exc),
                shortfall=0,
                **balances(deposit),
            ),
        )
        return ChargeRejected.type
    emit(
        session,
        Charged(
            **echo,
            transfer_id=posted.transfer.id,
            attestation=_attest_posted(signing_key, "deposit.charged", command, posted),
            replayed=posted.replayed,
            charged_at=posted.transfer.created_at,
            **balances(posted.deposit),
        ),
    )
    return Charged.type


async def refund(*, session: AsyncSession, command: RefundRequested, signing_key: str) -> str:
    """Refund (part of) what an order was charged back to its customer's deposit."""
    key = str(command.idempotency_key)
    echo = {
        "customer_id": command.customer_id,
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
            RefundRejected(**echo, rejection="order-charged-to-another-customer", refundable=0, **balances(deposit)),
        )
        return RefundRejected.type
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
            RefundRejected(**echo, rejection=rejection, refundable=refundable, **balances(deposit)),
        )
        return RefundRejected.type
    emit(
        session,
        Refunded(
            **echo,
            transfer_id=posted.transfer.id,
            attestation=_attest_posted(signing_key, "deposit.refunded", command, posted),
            replayed=posted.replayed,
            **balances(posted.deposit),
        ),
    )
    return Refunded.type
