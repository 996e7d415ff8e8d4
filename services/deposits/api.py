"""Customer routes of the deposit (docs/architecture.md): a customer sees and moves only their own deposit."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.auth import CreatingDep, CustomerDep
from daiko.db import MAX_BIGINT, transaction
from daiko.idempotency import Answer
from daiko.openapi import problem_responses
from daiko.params import IdPath, PayInReportIdPath, WithdrawalIdPath
from daiko.problems import PROBLEM_JSON, Problem, invalid_request
from services.deposits import service
from services.deposits.deps import IdempotencyKey, StateDep, run_idempotent
from services.deposits.domain import ReportStatus, WithdrawalStatus
from services.deposits.ledger import queries as ledger_queries
from services.deposits.ledger import repository as ledger_store
from services.deposits.paypal import service as paypal_payins
from services.deposits.paypal.client import TRANSMISSION_ID, TRANSMISSION_SIG, TRANSMISSION_TIME, webhook_is_fresh
from services.deposits.schemas import (
    WITHDRAWAL_EXAMPLES,
    AgencyBankAccount,
    DepositOut,
    PayInReportIn,
    PayInReportOut,
    PayPalCaptureOut,
    PayPalOrderIn,
    PayPalOrderOut,
    TransactionOut,
    TransactionPage,
    WebhookAck,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalResult,
)

router = APIRouter(prefix="/v1/deposit", tags=["deposits"])

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Before = Annotated[int | None, Query(ge=1, le=MAX_BIGINT, description="Only entries older than this transaction id")]


async def transaction_page(state: StateDep, customer_id: str, before: int | None, limit: int) -> TransactionPage:
    async with state.sessions() as session:
        entries = await ledger_queries.history(session, customer_id, before=before, limit=limit)
    items = [TransactionOut.of(e) for e in entries]
    return TransactionPage(items=items, next_before=items[-1].id if len(items) == limit else None)


@router.get(
    "",
    response_model=DepositOut,
    summary="My deposit: balance, held, available",
    responses=problem_responses(401, 422, 403),
)
async def get_deposit(principal: CustomerDep, state: StateDep) -> DepositOut:
    async with state.sessions() as session:
        return DepositOut.of(await ledger_store.deposit_of(session, principal.subject))


@router.get(
    "/bank-account",
    response_model=AgencyBankAccount,
    summary="The agency's bank account for a bank-transfer pay-in, with my reference",
    responses=problem_responses(401, 403),
)
async def get_agency_bank_account(principal: CustomerDep, state: StateDep) -> AgencyBankAccount:
    settings = state.settings
    return AgencyBankAccount(
        bank_name=settings.agency_bank_name,
        branch=settings.agency_bank_branch,
        account_type=settings.agency_bank_account_type,
        account_number=settings.agency_bank_account_number,
        account_holder=settings.agency_bank_account_holder,
        swift=settings.agency_bank_swift,
        reference=principal.subject,
    )


@router.get(
    "/transactions",
    response_model=TransactionPage,
    summary="My deposit's history, newest first, with the running balance",
    responses=problem_responses(401, 422, 403),
)
async def list_transactions(
    principal: CustomerDep, state: StateDep, limit: Limit = 50, before: Before = None
) -> TransactionPage:
    return await transaction_page(state, principal.subject, before, limit)


# --- pay-in by bank transfer --------------------------------------------------------------------


@router.post(
    "/pay-in-reports",
    status_code=201,
    response_model=PayInReportOut,
    summary="Report a bank transfer to the agency (credited when staff confirm)",
    responses=problem_responses(401, 422, 403),
)
async def file_pay_in_report(
    body: PayInReportIn,
    request: Request,
    principal: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(session: AsyncSession) -> PayInReportOut:
        report = await service.file_pay_in_report(
            session=session,
            customer_id=principal.subject,
            amount=body.amount,
            transfer_date=body.transfer_date,
            sender_name=body.sender_name,
            note=body.note,
        )
        return PayInReportOut.of(report)

    return await run_idempotent(request, state, principal, idempotency_key, body, 201, op)


@router.get(
    "/pay-in-reports",
    response_model=list[PayInReportOut],
    summary="My pay-in reports",
    responses=problem_responses(401, 422, 403),
)
async def list_pay_in_reports(
    principal: CustomerDep,
    state: StateDep,
    status: ReportStatus | None = None,
    limit: Limit = 50,
    before: Annotated[datetime | None, Query(description="Only reports filed before this time")] = None,
) -> list[PayInReportOut]:
    async with state.sessions() as session:
        reports = await service.list_pay_in_reports(
            session=session, customer_id=principal.subject, status=status, limit=limit, before=before
        )
    return [PayInReportOut.of(r) for r in reports]


@router.get(
    "/pay-in-reports/{report_id}",
    response_model=PayInReportOut,
    summary="One of my pay-in reports",
    responses=problem_responses(401, 422, 403, 404),
)
async def get_pay_in_report(report_id: PayInReportIdPath, principal: CustomerDep, state: StateDep) -> PayInReportOut:
    async with state.sessions() as session:
        return PayInReportOut.of(
            await service.get_pay_in_report(session=session, report_id=report_id, customer_id=principal.subject)
        )


# --- pay-in by card through PayPal --------------------------------------------------------------


@router.post(
    "/paypal/orders",
    status_code=201,
    response_model=PayPalOrderOut,
    summary="Start a card pay-in: returns PayPal's approve link",
    responses=problem_responses(401, 422, 403, 502, 503),
)
async def create_paypal_order(
    body: PayPalOrderIn,
    request: Request,
    principal: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # With an Idempotency-Key, PayPal itself also sees one request id, so a retry never opens a second order.
    request_id = f"daiko-{principal.subject}-{idempotency_key}" if idempotency_key else f"daiko-{uuid.uuid4()}"

    async def op(session: AsyncSession) -> PayPalOrderOut:
        row = await paypal_payins.create_order(
            session=session,
            client=state.paypal,
            settings=state.settings,
            customer_id=principal.subject,
            amount=body.amount,
            request_id=request_id[:100],
        )
        return PayPalOrderOut.of(row)

    return await run_idempotent(request, state, principal, idempotency_key, body, 201, op)


@router.get(
    "/paypal/orders/{order_id}",
    response_model=PayPalOrderOut,
    summary="One of my PayPal pay-ins",
    responses=problem_responses(401, 422, 403, 404),
)
async def get_paypal_order(order_id: IdPath, principal: CustomerDep, state: StateDep) -> PayPalOrderOut:
    async with state.sessions() as session:
        return PayPalOrderOut.of(
            await paypal_payins.get_order(session=session, customer_id=principal.subject, order_id=order_id)
        )


@router.post(
    "/paypal/orders/{order_id}/capture",
    response_model=PayPalCaptureOut,
    summary="Capture an approved PayPal order and credit the deposit",
    description="Capturing twice credits once. A declined card is a 402 with the approve link: the customer "
    "approves again there with another card, and a capture with a new `Idempotency-Key` (or none) tries again; "
    "a retry with the key of the declined attempt is answered that 402 again.",
    responses=problem_responses(401, 422, 402, 403, 404, 409, 502, 503),
)
async def capture_paypal_order(
    order_id: IdPath, request: Request, principal: CreatingDep, state: StateDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def op(session: AsyncSession) -> PayPalCaptureOut | Answer:
        outcome = await paypal_payins.capture_order(
            session=session, client=state.paypal, customer_id=principal.subject, order_id=order_id
        )
        if outcome.declined is not None:  # recorded and committed; the same key replays this 402
            declined = outcome.declined
            problem = Problem(402, "Card declined", declined.detail, code=declined.code, **declined.facts)
            return Answer(402, problem.body(request.url.path), {"content-type": PROBLEM_JSON})
        return PayPalCaptureOut(order=PayPalOrderOut.of(outcome.order), deposit=DepositOut.of(outcome.deposit))

    return await run_idempotent(request, state, principal, idempotency_key, None, 200, op)


@router.post(
    "/paypal/webhook",
    response_model=WebhookAck,
    summary="PayPal webhook (no bearer token: the signature headers authenticate it)",
    description=f"Requires `{TRANSMISSION_ID}`, `{TRANSMISSION_TIME}` and `{TRANSMISSION_SIG}`; PayPal's "
    "verify-webhook-signature API decides whether they are genuine for our webhook id, and the capture is then "
    "read from the PayPal order itself. A forged or stale delivery is a 401 and changes nothing.",
    responses=problem_responses(401, 422),
)
async def paypal_webhook(request: Request, state: StateDep) -> WebhookAck:
    raw = await request.body()
    headers = dict(request.headers)
    refused = webhook_is_fresh(headers, tolerance_seconds=state.settings.paypal_webhook_tolerance_seconds)
    if refused:
        raise Problem(401, "Webhook refused", refused, code="webhook-signature-invalid")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise invalid_request("the webhook's body is not JSON") from exc
    if not isinstance(event, dict):
        raise invalid_request("the webhook's body is not a JSON object")
    if not await paypal_payins.genuine_webhook(state.paypal, headers, event, state.settings.paypal_webhook_id):
        raise Problem(
            401, "Webhook refused", "PayPal does not vouch for this delivery", code="webhook-signature-invalid"
        )
    async with transaction(state.sessions) as session:
        return WebhookAck(status=await paypal_payins.handle_webhook(session=session, event=event, paypal=state.paypal))


# --- withdrawals --------------------------------------------------------------------------------


@router.post(
    "/withdrawals",
    status_code=201,
    response_model=WithdrawalResult,
    summary="Request a withdrawal to a Japanese bank account, an IBAN account or PayPal (held at once)",
    description="`method` says which destination the body carries: `japanese_bank` (`bank_account`), `iban` "
    "(`iban_account`: IBAN check digits and country format, BIC/SWIFT checked) or `paypal` (`paypal_email`). "
    "The destination is sealed at rest and only ever answered masked.",
    responses=problem_responses(401, 422, 403, 409),
)
async def request_withdrawal(
    body: Annotated[WithdrawalIn, Body(openapi_examples=WITHDRAWAL_EXAMPLES)],
    request: Request,
    principal: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(session: AsyncSession) -> WithdrawalResult:
        withdrawal, deposit = await service.request_withdrawal(
            session=session,
            customer_id=principal.subject,
            amount=body.amount,
            destination=body.destination(),
            sealing_key=state.settings.bank_details_key.get_secret_value(),
        )
        return WithdrawalResult(withdrawal=WithdrawalOut.of(withdrawal), deposit=DepositOut.of(deposit))

    return await run_idempotent(request, state, principal, idempotency_key, body, 201, op)


@router.post(
    "/withdrawals/{withdrawal_id}/cancel",
    response_model=WithdrawalResult,
    summary="Cancel my pending withdrawal request (the held amount is available again)",
    description="Only while the request is pending. A retry with the same `Idempotency-Key` is answered as the "
    "first time; a new cancel of a request already canceled, paid or rejected is a 409 `withdrawal-not-pending`.",
    responses=problem_responses(401, 422, 403, 404, 409),
)
async def cancel_withdrawal(
    withdrawal_id: WithdrawalIdPath,
    request: Request,
    principal: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(session: AsyncSession) -> WithdrawalResult:
        withdrawal, deposit = await service.cancel_withdrawal(
            session=session, withdrawal_id=withdrawal_id, customer_id=principal.subject
        )
        return WithdrawalResult(withdrawal=WithdrawalOut.of(withdrawal), deposit=DepositOut.of(deposit))

    return await run_idempotent(request, state, principal, idempotency_key, None, 200, op)


@router.get(
    "/withdrawals",
    response_model=list[WithdrawalOut],
    summary="My withdrawal requests",
    responses=problem_responses(401, 422, 403),
)
async def list_withdrawals(
    principal: CustomerDep, state: StateDep, status: WithdrawalStatus | None = None, limit: Limit = 50
) -> list[WithdrawalOut]:
    async with state.sessions() as session:
        rows = await service.list_withdrawals(
            session=session, customer_id=principal.subject, status=status, limit=limit
        )
    return [WithdrawalOut.of(w) for w in rows]


@router.get(
    "/withdrawals/{withdrawal_id}",
    response_model=WithdrawalOut,
    summary="One of my withdrawal requests",
    responses=problem_responses(401, 422, 403, 404),
)
async def get_withdrawal(withdrawal_id: WithdrawalIdPath, principal: CustomerDep, state: StateDep) -> WithdrawalOut:
    async with state.sessions() as session:
        return WithdrawalOut.of(
            await service.get_withdrawal(session=session, withdrawal_id=withdrawal_id, customer_id=principal.subject)
        )
