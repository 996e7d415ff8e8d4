"""Staff routes: decide pay-in reports and withdrawal requests, look at any deposit, audit the ledger."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.auth import StaffDep
from daiko.openapi import problem_responses
from daiko.params import CustomerFilter, CustomerIdPath, PayInReportIdPath, WithdrawalIdPath
from services.deposits import service
from services.deposits.api import Before, Limit, transaction_page
from services.deposits.deps import IdempotencyKey, StateDep, run_idempotent
from services.deposits.domain import ReportStatus, WithdrawalStatus
from services.deposits.ledger import queries as ledger_queries
from services.deposits.ledger import repository as ledger_store
from services.deposits.paypal import service as paypal_payins
from services.deposits.schemas import (
    AuditedDeposit,
    AuditOut,
    ConfirmPayInReportIn,
    ConfirmWithdrawalIn,
    DepositOut,
    PayInReportDecision,
    PayInReportOut,
    RejectIn,
    TransactionPage,
    WithdrawalDestinationOut,
    WithdrawalOut,
    WithdrawalResult,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/staff", tags=["deposits-staff"])

# --- pay-in reports -----------------------------------------------------------------------------


@router.get(
    "/pay-in-reports",
    response_model=list[PayInReportOut],
    summary="Pay-in reports to decide (pending by default), newest first",
    responses=problem_responses(401, 422, 403),
)
async def staff_list_pay_in_reports(
    _: StaffDep,
    state: StateDep,
    status: ReportStatus | None = ReportStatus.PENDING,
    customer_id: CustomerFilter = None,
    limit: Limit = 50,
) -> list[PayInReportOut]:
    async with state.sessions() as session:
        rows = await service.list_pay_in_reports(session=session, customer_id=customer_id, status=status, limit=limit)
    return [PayInReportOut.of(r) for r in rows]


@router.get(
    "/pay-in-reports/{report_id}",
    response_model=PayInReportOut,
    summary="One pay-in report",
    responses=problem_responses(401, 422, 403, 404),
)
async def staff_get_pay_in_report(report_id: PayInReportIdPath, _: StaffDep, state: StateDep) -> PayInReportOut:
    async with state.sessions() as session:
        return PayInReportOut.of(
            await service.get_pay_in_report(session=session, report_id=report_id, customer_id=None)
        )


@router.post(
    "/pay-in-reports/{report_id}/confirm",
    response_model=PayInReportDecision,
    summary="Confirm a pay-in report: credit the amount that arrived",
    description="The amount defaults to the reported one; another amount needs a note. Confirming twice credits "
    "once; confirming a rejected report is a 409.",
    responses=problem_responses(401, 422, 403, 404, 409),
)
async def confirm_pay_in_report(
    report_id: PayInReportIdPath,
    request: Request,
    staff: StaffDep,
    state: StateDep,
    body: ConfirmPayInReportIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    decision = body or ConfirmPayInReportIn()

    async def op(session: AsyncSession) -> PayInReportDecision:
        report, deposit = await service.confirm_pay_in_report(
            session=session, report_id=report_id, staff_id=staff.subject, amount=decision.amount, note=decision.note
        )
        return PayInReportDecision(report=PayInReportOut.of(report), deposit=DepositOut.of(deposit))

    return await run_idempotent(request, state, staff, idempotency_key, decision, 200, op)


@router.post(
    "/pay-in-reports/{report_id}/reject",
    response_model=PayInReportOut,
    summary="Reject a pay-in report (nothing is credited)",
    responses=problem_responses(401, 422, 403, 404, 409),
)
async def reject_pay_in_report(
    report_id: PayInReportIdPath,
    body: RejectIn,
    request: Request,
    staff: StaffDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(session: AsyncSession) -> PayInReportOut:
        return PayInReportOut.of(
            await service.reject_pay_in_report(
                session=session, report_id=report_id, staff_id=staff.subject, reason=body.reason
            )
        )

    return await run_idempotent(request, state, staff, idempotency_key, body, 200, op)


# --- withdrawals --------------------------------------------------------------------------------


@router.get(
    "/withdrawals",
    response_model=list[WithdrawalOut],
    summary="Withdrawal requests to decide (pending by default); bank accounts masked",
    responses=problem_responses(401, 422, 403),
)
async def staff_list_withdrawals(
    _: StaffDep,
    state: StateDep,
    status: WithdrawalStatus | None = WithdrawalStatus.PENDING,
    customer_id: CustomerFilter = None,
    limit: Limit = 50,
) -> list[WithdrawalOut]:
    async with state.sessions() as session:
        rows = await service.list_withdrawals(session=session, customer_id=customer_id, status=status, limit=limit)
    return [WithdrawalOut.of(w) for w in rows]


@router.get(
    "/withdrawals/{withdrawal_id}",
    response_model=WithdrawalOut,
    summary="One withdrawal request",
    responses=problem_responses(401, 422, 403, 404),
)
async def staff_get_withdrawal(withdrawal_id: WithdrawalIdPath, _: StaffDep, state: StateDep) -> WithdrawalOut:
    async with state.sessions() as session:
        return WithdrawalOut.of(
            await service.get_withdrawal(session=session, withdrawal_id=withdrawal_id, customer_id=None)
        )


@router.get(
    "/withdrawals/{withdrawal_id}/destination",
    response_model=WithdrawalDestinationOut,
    summary="Where to pay a withdrawal out, in clear (bank account, IBAN + BIC, or PayPal e-mail)",
    description="For the staff member paying it out; every read is logged with who read it.",
    responses=problem_responses(401, 422, 403, 404),
)
async def staff_withdrawal_destination(
    withdrawal_id: WithdrawalIdPath, staff: StaffDep, state: StateDep
) -> WithdrawalDestinationOut:
    async with state.sessions() as session:
        w, destination = await service.destination_of(
            session=session, withdrawal_id=withdrawal_id, sealing_key=state.settings.bank_details_key.get_secret_value()
        )
    log.info("withdrawal destination read", extra={"withdrawal_id": w.id, "staff": staff.subject, "method": w.method})
    return WithdrawalDestinationOut.of(w, destination)


@router.post(
    "/withdrawals/{withdrawal_id}/confirm",
    response_model=WithdrawalResult,
    summary="Confirm a withdrawal as paid out (the hold is posted); a PayPal one is paid through PayPal here",
    description="Bank withdrawals (Japanese or IBAN) are paid by staff at the bank first, then confirmed here. "
    "A PayPal withdrawal is paid by this call: it sends a PayPal payout to the customer's PayPal e-mail and "
    "posts the hold once PayPal accepted it (PayPal unreachable: 503 and nothing posted; retry).",
    responses=problem_responses(401, 422, 403, 404, 409, 502, 503),
)
async def confirm_withdrawal(
    withdrawal_id: WithdrawalIdPath,
    request: Request,
    staff: StaffDep,
    state: StateDep,
    body: ConfirmWithdrawalIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    decision = body or ConfirmWithdrawalIn()

    async def op(session: AsyncSession) -> WithdrawalResult:
        w, deposit = await service.confirm_withdrawal(
            session=session,
            withdrawal_id=withdrawal_id,
            staff_id=staff.subject,
            note=decision.note,
            payout=paypal_payins.payout_through(
                state.paypal, sealing_key=state.settings.bank_details_key.get_secret_value()
            ),
        )
        return WithdrawalResult(withdrawal=WithdrawalOut.of(w), deposit=DepositOut.of(deposit))

    return await run_idempotent(request, state, staff, idempotency_key, decision, 200, op)


@router.post(
    "/withdrawals/{withdrawal_id}/reject",
    response_model=WithdrawalResult,
    summary="Reject a withdrawal: the hold is released",
    responses=problem_responses(401, 422, 403, 404, 409),
)
async def reject_withdrawal(
    withdrawal_id: WithdrawalIdPath,
    body: RejectIn,
    request: Request,
    staff: StaffDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(session: AsyncSession) -> WithdrawalResult:
        w, deposit = await service.reject_withdrawal(
            session=session, withdrawal_id=withdrawal_id, staff_id=staff.subject, reason=body.reason
        )
        return WithdrawalResult(withdrawal=WithdrawalOut.of(w), deposit=DepositOut.of(deposit))

    return await run_idempotent(request, state, staff, idempotency_key, body, 200, op)


# --- any customer's deposit, and the audit -------------------------------------------------------


@router.get(
    "/customers/{customer_id}/deposit",
    response_model=DepositOut,
    summary="A customer's deposit",
    responses=problem_responses(401, 422, 403),
)
async def customer_deposit(customer_id: CustomerIdPath, _: StaffDep, state: StateDep) -> DepositOut:
    async with state.sessions() as session:
        return DepositOut.of(await ledger_store.deposit_of(session, customer_id))


@router.get(
    "/customers/{customer_id}/deposit/transactions",
    response_model=TransactionPage,
    summary="A customer's deposit history, newest first",
    responses=problem_responses(401, 422, 403),
)
async def customer_transactions(
    customer_id: CustomerIdPath, _: StaffDep, state: StateDep, limit: Limit = 50, before: Before = None
) -> TransactionPage:
    return await transaction_page(state, customer_id, before, limit)


@router.get(
    "/ledger/audit",
    response_model=AuditOut,
    summary="Recompute every balance from the transfers and check Σ debits = Σ credits (for all, or one customer)",
    responses=problem_responses(401, 422, 403),
)
async def audit(_: StaffDep, state: StateDep, customer_id: CustomerFilter = None) -> AuditOut:
    async with state.sessions() as session, session.begin():
        report = await ledger_queries.audit(session, customer_id=customer_id)
    return AuditOut(
        ok=report.ok,
        accounts=report.accounts,
        transfers=report.transfers,
        debits_posted=report.debits_posted,
        credits_posted=report.credits_posted,
        debits_pending=report.debits_pending,
        credits_pending=report.credits_pending,
        balanced=(report.debits_posted, report.debits_pending) == (report.credits_posted, report.credits_pending),
        deposit=(
            AuditedDeposit(
                customer_id=customer_id,
                credits=report.deposit.credits_posted,
                debits=report.deposit.debits_posted,
                held=report.deposit.held,
                balance=report.deposit.balance,
                available=report.deposit.available,
            )
            if customer_id is not None and report.deposit is not None
            else None
        ),
        mismatches=report.mismatches,
    )
