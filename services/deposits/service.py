"""Use cases of the deposit: pay-in reports and withdrawals (over HTTP), charges and refunds for orders (over Kafka).

PayPal card pay-ins are the use cases of the ``paypal`` sub-package.

Each function runs inside the caller's transaction (``session`` keyword-only)
and leaves the state change, the ledger transfer and the outgoing event in it,
so they commit together. A business row (report, withdrawal) is locked before
the ledger's accounts, always in that order, so concurrent decisions serialise
without deadlocks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.attestation import AttestedType, ledger_statement
from contracts.deposits import (
    Charged,
    ChargeRejected,
    ChargeRequested,
    Credited,
    MaskedBankAccount,
    MaskedDestination,
    Refunded,
    RefundRejected,
    RefundRequested,
    WithdrawalCanceled,
    WithdrawalPaid,
    WithdrawalRejected,
    WithdrawalRequested,
)
from daiko.attestation import sign
from daiko.errors import NotFound
from services.deposits import domain
from services.deposits.db import Account, PayInReport, Withdrawal
from services.deposits.domain import (
    BankAccount,
    Decision,
    Destination,
    ReportStatus,
    TransferKind,
    WithdrawalMethod,
    WithdrawalStatus,
)
from services.deposits.ledger.domain import (
    BANK_ACCOUNT,
    PAYOUTS_ACCOUNT,
    IdempotencyConflict,
    InsufficientFunds,
    Phase,
    revenue_account,
)
from services.deposits.ledger.repository import (
    AccountRef,
    Deposit,
    Movement,
    Posted,
    Refused,
    deposit_of,
    post,
    post_many,
)
from services.deposits.messages import balances, emit, emit_all
from services.deposits.sealing import seal, unseal

Payout = Callable[[Withdrawal], Awaitable[str]]
"""Pays a withdrawal out through PayPal and returns PayPal's reference for it (the payout batch id)."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def now() -> datetime:
    return datetime.now(UTC)


# --- pay-in by bank transfer ------------------------------------------------------------------


async def file_pay_in_report(
    *, session: AsyncSession, customer_id: str, amount: int, transfer_date: date, sender_name: str, note: str | None
) -> PayInReport:
    """The customer says they sent money; nothing is credited until staff see it in the bank."""
    report = PayInReport(
        id=new_id("pir"),
        customer_id=customer_id,
        amount=amount,
        transfer_date=transfer_date,
        sender_name=sender_name,
        note=note,
        status=ReportStatus.PENDING.value,
    )
    session.add(report)
    await session.flush()
    return report


async def list_pay_in_reports(
    *,
    session: AsyncSession,
    customer_id: str | None = None,
    status: ReportStatus | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[PayInReport]:
    return await _newest_first(session, PayInReport, customer_id, status, limit, before)


async def get_pay_in_report(*, session: AsyncSession, report_id: str, customer_id: str | None) -> PayInReport:
    """``customer_id`` set: another customer's report is a 404, as if it did not exist."""
    return await _owned(session, PayInReport, report_id, customer_id, "pay-in report")


async def _locked_report(session: AsyncSession, report_id: str) -> PayInReport:
    return await _locked(session, PayInReport, report_id, "pay-in report")


async def confirm_pay_in_report(
    *, session: AsyncSession, report_id: str, staff_id: str, amount: int | None, note: str | None
) -> tuple[PayInReport, Deposit]:
    """Credit what staff saw arrive; a second confirmation finds the first and credits nothing."""
    report = await _locked_report(session, report_id)
    confirmation = domain.confirm_pay_in_report(
        ReportStatus(report.status), reported=report.amount, credited=report.credited_amount, amount=amount, note=note
    )
    if confirmation.decision is Decision.ALREADY_DONE:
        return report, await deposit_of(session, report.customer_id)
    key = f"pay-in-report:{report.id}"
    posted = await post(
        session,
        Movement(
            key=key,
            kind=TransferKind.BANK_PAY_IN,
            customer_id=report.customer_id,
            debit=AccountRef.agency(BANK_ACCOUNT),
            credit=AccountRef.deposit(report.customer_id),
            amount=confirmation.amount,
            reference=report.id,
            note=note,
        ),
    )
    report.status = ReportStatus.CONFIRMED.value
    report.credited_amount = confirmation.amount
    report.staff_note = note
    report.decided_by = staff_id
    report.decided_at = now()
    report.transfer_id = posted.transfer.id
    emit(
        session,
        Credited(
            customer_id=report.customer_id,
            method="bank_transfer",
            amount=confirmation.amount,
            pay_in_report_id=report.id,
            reported_amount=report.amount,
            idempotency_key=key,
            transfer_id=posted.transfer.id,
            **balances(posted.deposit),
        ),
    )
    return report, posted.deposit


async def reject_pay_in_report(*, session: AsyncSession, report_id: str, staff_id: str, reason: str) -> PayInReport:
    """Nothing arrived (or not from this customer): the report is closed and nothing moves."""
    report = await _locked_report(session, report_id)
    if domain.reject_pay_in_report(ReportStatus(report.status)) is Decision.APPLY:
        report.status = ReportStatus.REJECTED.value
        report.reject_reason = reason
        report.decided_by = staff_id
        report.decided_at = now()
    return report


# --- withdrawals --------------------------------------------------------------------------------


def _hold_key(withdrawal_id: str) -> str:
    return f"withdrawal:{withdrawal_id}:hold"


def destination_label(masked: dict[str, str]) -> str:
    """The masked destination on one line, as events and staff lists show it."""
    method = masked.get("method", WithdrawalMethod.JAPANESE_BANK.value)
    if method == WithdrawalMethod.IBAN.value:
        return f"IBAN {masked['iban']} ({masked['bic']}) {masked['holder_name']}"
    if method == WithdrawalMethod.PAYPAL.value:
        return f"PayPal {masked['email']}"
    return f"{masked['bank_name']} {masked['branch']} {masked['account_number']} {masked['holder_name']}"


async def request_withdrawal(
    *, session: AsyncSession, customer_id: str, amount: int, destination: Destination, sealing_key: str
) -> tuple[Withdrawal, Deposit]:
    """Hold the amount at once (pending transfer to payouts); refused if it exceeds what is available."""
    withdrawal_id = new_id("wd")
    posted = await post(
        session,
        Movement(
            key=_hold_key(withdrawal_id),
            kind=TransferKind.WITHDRAWAL_HOLD,
            customer_id=customer_id,
            debit=AccountRef.deposit(customer_id),
            credit=AccountRef.agency(PAYOUTS_ACCOUNT),
            amount=amount,
            phase=Phase.PENDING,
            reference=withdrawal_id,
        ),
    )
    masked = destination.masked()
    withdrawal = Withdrawal(
        id=withdrawal_id,
        customer_id=customer_id,
        amount=amount,
        status=WithdrawalStatus.PENDING.value,
        method=destination.method.value,
        destination=masked,
        sealed_destination=seal(sealing_key, destination),
        hold_transfer_id=posted.transfer.id,
    )
    session.add(withdrawal)
    await session.flush()
    bank = {k: v for k, v in masked.items() if k != "method"}
    emit(
        session,
        WithdrawalRequested(
            customer_id=customer_id,
            withdrawal_id=withdrawal_id,
            amount=amount,
            bank_account=MaskedBankAccount(**bank) if isinstance(destination, BankAccount) else None,
            destination=MaskedDestination(method=destination.method.value, label=destination_label(masked)),
            idempotency_key=_hold_key(withdrawal_id),
            transfer_id=posted.transfer.id,
            **balances(posted.deposit),
        ),
    )
    return withdrawal, posted.deposit


async def list_withdrawals(
    *,
    session: AsyncSession,
    customer_id: str | None = None,
    status: WithdrawalStatus | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[Withdrawal]:
    return await _newest_first(session, Withdrawal, customer_id, status, limit, before)


async def get_withdrawal(*, session: AsyncSession, withdrawal_id: str, customer_id: str | None) -> Withdrawal:
    return await _owned(session, Withdrawal, withdrawal_id, customer_id, "withdrawal request")


async def _locked_withdrawal(session: AsyncSession, withdrawal_id: str) -> Withdrawal:
    return await _locked(session, Withdrawal, withdrawal_id, "withdrawal request")


# --- customer requests staff decide: pay-in reports and withdrawal requests read alike ----------

_Request = TypeVar("_Request", PayInReport, Withdrawal)


async def _newest_first(
    session: AsyncSession,
    model: type[_Request],
    customer_id: str | None,
    status: ReportStatus | WithdrawalStatus | None,
    limit: int,
    before: datetime | None,
) -> list[_Request]:
    query = select(model)
    if customer_id is not None:
        query = query.where(model.customer_id == customer_id)
    if status is not None:
        query = query.where(model.status == status.value)
    if before is not None:
        query = query.where(model.created_at < before)
    return list((await session.scalars(query.order_by(model.created_at.desc()).limit(limit))).all())


async def _owned(
    session: AsyncSession, model: type[_Request], request_id: str, customer_id: str | None, what: str
) -> _Request:
    """``customer_id`` set: another customer's request is a 404, as if it did not exist."""
    row = await session.get(model, request_id)
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise NotFound(f"{what} {request_id}")
    return row


async def _locked(session: AsyncSession, model: type[_Request], request_id: str, what: str) -> _Request:
    row = await session.scalar(select(model).where(model.id == request_id).with_for_update())
    if row is None:
        raise NotFound(f"{what} {request_id}")
    return row


async def _resolve_hold(
    session: AsyncSession, w: Withdrawal, *, phase: Phase, kind: TransferKind, suffix: str, note: str | None
) -> tuple[str, Deposit, int]:
    key = f"withdrawal:{w.id}:{suffix}"
    posted = await post(
        session,
        Movement(
            key=key,
            kind=kind,
            customer_id=w.customer_id,
            debit=AccountRef.deposit(w.customer_id),
            credit=AccountRef.agency(PAYOUTS_ACCOUNT),
            amount=w.amount,
            phase=phase,
            pending_key=_hold_key(w.id),
            reference=w.id,
            note=note,
        ),
    )
    return key, posted.deposit, posted.transfer.id


async def destination_of(
    *, session: AsyncSession, withdrawal_id: str, sealing_key: str
) -> tuple[Withdrawal, Destination]:
    """The destination in clear, for staff paying the withdrawal out (the customer API never calls this)."""
    w = await _owned(session, Withdrawal, withdrawal_id, None, "withdrawal request")
    return w, unseal(sealing_key, w.sealed_destination, WithdrawalMethod(w.method))


async def confirm_withdrawal(
    *,
    session: AsyncSession,
    withdrawal_id: str,
    staff_id: str,
    note: str | None,
    payout: Payout | None = None,
) -> tuple[Withdrawal, Deposit]:
    """Staff paid it out: the hold is posted to payouts and leaves the balance.

    A PayPal withdrawal is paid by ``payout`` (PayPal's Payouts API, see
    ``services.deposits.paypal.payouts``) under the withdrawal's row lock, so a
    second confirmation waits, finds it paid and sends nothing more; a bank
    withdrawal is one staff already paid at the bank, and confirming records it.
    """
    w = await _locked_withdrawal(session, withdrawal_id)
    if domain.confirm_withdrawal(WithdrawalStatus(w.status)) is Decision.ALREADY_DONE:
        return w, await deposit_of(session, w.customer_id)
    if w.method == WithdrawalMethod.PAYPAL.value:
        if payout is None:
            raise RuntimeError("a PayPal withdrawal is paid out through PayPal: pass the payout")
        w.payout_reference = await payout(w)
    key, deposit, transfer_id = await _resolve_hold(
        session, w, phase=Phase.POST_PENDING, kind=TransferKind.WITHDRAWAL_PAID, suffix="paid", note=note
    )
    w.status, w.staff_note, w.decided_by, w.decided_at = WithdrawalStatus.PAID.value, note, staff_id, now()
    w.resolution_transfer_id = transfer_id
    emit(
        session,
        WithdrawalPaid(
            customer_id=w.customer_id,
            withdrawal_id=w.id,
            amount=w.amount,
            idempotency_key=key,
            transfer_id=transfer_id,
            **balances(deposit),
        ),
    )
    return w, deposit


async def reject_withdrawal(
    *, session: AsyncSession, withdrawal_id: str, staff_id: str, reason: str
) -> tuple[Withdrawal, Deposit]:
    """Staff refused it: the hold is voided and the amount is available again."""
    w = await _locked_withdrawal(session, withdrawal_id)
    if domain.reject_withdrawal(WithdrawalStatus(w.status)) is Decision.ALREADY_DONE:
        return w, await deposit_of(session, w.customer_id)
    key, deposit, transfer_id = await _resolve_hold(
        session, w, phase=Phase.VOID_PENDING, kind=TransferKind.WITHDRAWAL_RELEASED, suffix="released", note=reason
    )
    w.status, w.reject_reason, w.decided_by, w.decided_at = WithdrawalStatus.REJECTED.value, reason, staff_id, now()
    w.resolution_transfer_id = transfer_id
    emit(
        session,
        WithdrawalRejected(
            customer_id=w.customer_id,
            withdrawal_id=w.id,
            amount=w.amount,
            reason=reason,
            idempotency_key=key,
            transfer_id=transfer_id,
            **balances(deposit),
        ),
    )
    return w, deposit


async def cancel_withdrawal(
    *, session: AsyncSession, withdrawal_id: str, customer_id: str
) -> tuple[Withdrawal, Deposit]:
    """The customer takes back their pending request: the hold is voided, in the transaction of the event.

    Another customer's request is a 404; one no longer pending is a 409
    (``withdrawal-not-pending``), canceled before or decided by staff. The
    void has its own ledger key (``withdrawal:<id>:canceled``), so even a race
    of two cancels releases the hold once (the second waits on the row lock
    and then finds it canceled).
    """
    w = await _locked_withdrawal(session, withdrawal_id)
    if w.customer_id != customer_id:
        raise NotFound(f"withdrawal request {withdrawal_id}")
    domain.cancel_withdrawal(WithdrawalStatus(w.status))
    key, deposit, transfer_id = await _resolve_hold(
        session,
        w,
        phase=Phase.VOID_PENDING,
        kind=TransferKind.WITHDRAWAL_RELEASED,
        suffix="canceled",
        note="canceled by the customer",
    )
    w.status, w.decided_by, w.decided_at = WithdrawalStatus.CANCELED.value, customer_id, now()
    w.resolution_transfer_id = transfer_id
    emit(
        session,
        WithdrawalCanceled(
            customer_id=w.customer_id,
            withdrawal_id=w.id,
            amount=w.amount,
            idempotency_key=key,
            transfer_id=transfer_id,
            **balances(deposit),
        ),
    )
    return w, deposit


# ====================================================================================================
# Charges and refunds for orders: every payment of a billing, and every refund, moves through here.
#
# A charge posts deposit → the order's revenue account if the deposit's
# *available* balance covers it, under the deposit's row lock; otherwise it is
# refused with the shortfall. A refund posts revenue → deposit, never more than
# the order was charged (the revenue account may not go below zero) and only to
# the customer who paid. Both answer with an event in the same transaction.
#
# Every charge and refund answer is signed with the ledger's key
# (``contracts.attestation``): the orders' workflows believe a money fact only
# with that signature, so nothing but a posted transfer can make an order paid.
#
# Idempotency: a successful transfer consumes its key; the same key again (the
# workflow retrying with a new command id) changes nothing and answers again with
# the original result, marked ``replayed``. A refusal does not consume the key,
# so the same billing can be charged once the customer has paid in.
# ====================================================================================================

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


def _charge_movement(command: ChargeRequested) -> Movement:
    return Movement(
        key=str(command.idempotency_key),
        kind=TransferKind.CHARGE,
        customer_id=command.customer_id,
        debit=AccountRef.deposit(command.customer_id),
        credit=AccountRef.revenue(command.order_id, command.customer_id),
        amount=command.amount,
        order_id=command.order_id,
        billing_seq=command.billing_seq,
        revision=command.revision,
    )


async def charge(*, session: AsyncSession, command: ChargeRequested, signing_key: str) -> str:
    """Charge a billing to the deposit; returns the type of the answer it emitted."""
    outcome: Posted | Refused
    try:
        outcome = await post(session, _charge_movement(command))
    except (InsufficientFunds, IdempotencyConflict) as exc:
        outcome = Refused(exc, await deposit_of(session, command.customer_id))
    answer = _charge_answer(command, outcome, signing_key)
    emit(session, answer)
    return answer.type


async def charges(*, session: AsyncSession, commands: Sequence[ChargeRequested], signing_key: str) -> list[str]:
    """Charge several billings, in order, as :func:`charge` one after another would, in a few statements.

    For the commands consumer's batch (one transaction per partition batch): the ledger posts
    them together (:func:`~services.deposits.ledger.repository.post_many`), each decided on what
    the ones before it left, and each gets the answer :func:`charge` would have given it.
    """
    outcomes = await post_many(session, [_charge_movement(command) for command in commands])
    for outcome in outcomes:
        if isinstance(outcome, Refused) and not isinstance(outcome.error, InsufficientFunds | IdempotencyConflict):
            raise outcome.error  # as charge() would: the batch rolls back and goes one command at a time
    answers = [
        _charge_answer(command, outcome, signing_key) for command, outcome in zip(commands, outcomes, strict=True)
    ]
    await emit_all(session, answers)
    return [answer.type for answer in answers]


def _charge_answer(command: ChargeRequested, outcome: Posted | Refused, signing_key: str) -> Charged | ChargeRejected:
    """The answer to a charge the ledger posted or refused."""
    key = str(command.idempotency_key)
    echo = {
        "customer_id": command.customer_id,
        "order_id": command.order_id,
        "billing_seq": command.billing_seq,
        "revision": command.revision,
        "amount": command.amount,
        "idempotency_key": command.idempotency_key,
    }
    if isinstance(outcome, Refused):
        if isinstance(outcome.error, InsufficientFunds):
            return ChargeRejected(
                **echo,
                rejection="insufficient-funds",
                shortfall=outcome.error.shortfall,
                **balances(outcome.deposit),
            )
        log.error("charge key reused for a different charge", extra={"idempotency_key": key})
        return ChargeRejected(
            **echo,
            rejection="idempotency-key-conflict",
            detail=str(outcome.error),
            shortfall=0,
            **balances(outcome.deposit),
        )
    return Charged(
        **echo,
        transfer_id=outcome.transfer.id,
        attestation=_attest_posted(signing_key, "deposit.charged", command, outcome),
        replayed=outcome.replayed,
        charged_at=outcome.transfer.created_at,
        **balances(outcome.deposit),
    )


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
