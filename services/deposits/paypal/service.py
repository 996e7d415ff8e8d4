"""Pay-in by card through PayPal: create an order, let the buyer approve it, capture, credit.

The deposit is credited when PayPal reports the capture COMPLETED, whichever
way that news arrives first: the capture call's answer or the webhook. Both
paths lock our record of the PayPal order and post the same transfer key
(``paypal-capture:<capture id>``), so the capture is credited once however
many times it is reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.deposits import Credited
from daiko.errors import InvalidInput, NotFound
from services.deposits.db import PayPalOrder, Withdrawal
from services.deposits.domain import (
    CardDeclined,
    PayPalAccount,
    PayPalDown,
    PayPalOrderNotApproved,
    PayPalOrderTaken,
    PayPalRefused,
    TransferKind,
    WithdrawalMethod,
)
from services.deposits.ledger.domain import PAYPAL_ACCOUNT
from services.deposits.ledger.repository import AccountRef, Deposit, Movement, deposit_of, post
from services.deposits.messages import balances, emit
from services.deposits.paypal.client import Capture, PayPalClient, PayPalError, PayPalUnavailable
from services.deposits.sealing import unseal
from services.deposits.service import Payout, now
from services.deposits.settings import DepositsSettings

log = logging.getLogger(__name__)

CURRENCY = "JPY"


@dataclass(frozen=True)
class CaptureOutcome:
    order: PayPalOrder
    deposit: Deposit
    credited_now: bool
    declined: CardDeclined | None = None
    """PayPal declined the card: answered as a 402, and recorded (committed) on the pay-in."""


FINAL_CAPTURE_STATES = frozenset({"COMPLETED", "DECLINED", "FAILED", "REFUNDED", "PARTIALLY_REFUNDED"})
"""Capture states that a later PENDING report (a stale webhook, a replayed answer) must not undo."""


def _unavailable(exc: PayPalError) -> PayPalDown:
    return PayPalDown(f"PayPal could not be reached ({exc}); try again", title="PayPal unavailable")


async def create_order(
    *,
    session: AsyncSession,
    client: PayPalClient,
    settings: DepositsSettings,
    customer_id: str,
    amount: int,
    request_id: str,
) -> PayPalOrder:
    """A PayPal order for ``amount`` yen; the customer pays it at the approve link."""
    try:
        order = await client.create_order(
            amount=amount,
            currency=CURRENCY,
            reference_id="deposit",
            custom_id=customer_id,
            request_id=request_id,
            return_url=settings.paypal_return_url,
            cancel_url=settings.paypal_cancel_url,
        )
    except PayPalUnavailable as exc:
        raise _unavailable(exc) from exc
    except PayPalError as exc:
        raise PayPalRefused(str(exc), title="PayPal refused the order", issue=exc.issue) from exc
    if not order.approve_url:
        raise PayPalRefused("PayPal answered without an approve link", title="PayPal answered without an approve link")
    await session.execute(
        insert(PayPalOrder)
        .values(
            id=order.id,
            customer_id=customer_id,
            amount=amount,
            currency=CURRENCY,
            status=order.status,
            approve_url=order.approve_url,
        )
        .on_conflict_do_nothing(index_elements=[PayPalOrder.id])  # PayPal replayed a retried create
    )
    row = await session.scalar(select(PayPalOrder).where(PayPalOrder.id == order.id))
    if row is None or row.customer_id != customer_id:
        raise PayPalOrderTaken("PayPal order belongs to someone else", title="PayPal order belongs to someone else")
    return row


async def get_order(*, session: AsyncSession, customer_id: str | None, order_id: str) -> PayPalOrder:
    row = await session.scalar(select(PayPalOrder).where(PayPalOrder.id == order_id))
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise NotFound(f"PayPal order {order_id}")
    return row


async def _locked(session: AsyncSession, order_id: str) -> PayPalOrder | None:
    return await session.scalar(select(PayPalOrder).where(PayPalOrder.id == order_id).with_for_update())


def capture_request_id(order_id: str, declined_attempts: int) -> str:
    """PayPal-Request-Id of a capture attempt: a retry of one attempt repeats it, a new attempt does not.

    PayPal answers a repeated request id with its first answer, so reusing the
    id of a declined attempt after the buyer re-approved with another card
    would only replay the decline.
    """
    base = f"daiko-capture-{order_id}"
    return base if declined_attempts == 0 else f"{base}-{declined_attempts + 1}"


async def capture_order(
    *, session: AsyncSession, client: PayPalClient, customer_id: str, order_id: str
) -> CaptureOutcome:
    """Capture the approved order and credit it if PayPal says COMPLETED.

    The order row stays locked during the call, so a concurrent capture of the
    same order (a double click) waits and then finds it credited. A declined
    card is not raised but returned (``declined``): the decline is recorded on
    the pay-in in this transaction, so the next attempt, after the buyer
    approved again with another card, is a new capture request at PayPal.
    """
    row = await _locked(session, order_id)
    if row is None or row.customer_id != customer_id:
        raise NotFound(f"PayPal order {order_id}")
    if row.transfer_id is not None:
        return CaptureOutcome(row, await deposit_of(session, customer_id), credited_now=False)
    try:
        order = await client.capture_order(order_id, request_id=capture_request_id(order_id, row.declined_attempts))
    except PayPalUnavailable as exc:
        raise _unavailable(exc) from exc
    except PayPalError as exc:
        if exc.issue == "ORDER_ALREADY_CAPTURED":  # captured before (e.g. our answer was lost): read it back
            try:
                order = await client.get_order(order_id)
            except PayPalError as again:
                raise _unavailable(again) from again
        elif exc.issue == "INSTRUMENT_DECLINED":
            row.declined_attempts += 1
            row.capture_status, row.failure, row.updated_at = "DECLINED", "INSTRUMENT_DECLINED", now()
            declined = CardDeclined(
                "PayPal declined the card; choose another card or payment method and approve again",
                approve_url=row.approve_url,
            )
            return CaptureOutcome(row, await deposit_of(session, customer_id), credited_now=False, declined=declined)
        elif exc.issue == "ORDER_NOT_APPROVED":
            raise PayPalOrderNotApproved(
                "the order has not been approved at PayPal yet: open the approve link first",
                approve_url=row.approve_url,
            ) from exc
        else:
            raise PayPalRefused(str(exc), title="PayPal refused the capture", issue=exc.issue) from exc
    row.status = order.status
    credited = False
    for capture in order.captures:
        credited = await apply_capture(session=session, row=row, capture=capture) or credited
    return CaptureOutcome(row, await deposit_of(session, customer_id), credited_now=credited)


async def apply_capture(*, session: AsyncSession, row: PayPalOrder, capture: Capture) -> bool:
    """Record what PayPal says about the capture; credit the deposit the first time it is COMPLETED."""
    if row.capture_id not in (None, capture.id):
        log.error("second capture for one PayPal order ignored", extra={"order": row.id, "capture": capture.id})
        return False
    stale = row.capture_id == capture.id and row.capture_status in FINAL_CAPTURE_STATES and capture.status == "PENDING"
    if not stale:  # a PENDING that arrives after the capture completed or was denied says nothing new
        row.capture_id, row.capture_status, row.updated_at = capture.id, capture.status, now()
    if capture.status == "COMPLETED":
        row.failure = None  # a decline of an earlier attempt is history now
    if capture.status != "COMPLETED" or row.transfer_id is not None:
        return False
    if capture.currency != row.currency:
        row.failure = "CURRENCY_MISMATCH"
        log.error(
            "capture in an unexpected currency not credited", extra={"order": row.id, "currency": capture.currency}
        )
        return False
    if capture.amount != row.amount:
        row.failure = "AMOUNT_MISMATCH"
        log.error(
            "capture of another amount than the pay-in not credited",
            extra={"order": row.id, "captured": capture.amount, "expected": row.amount},
        )
        return False
    key = f"paypal-capture:{capture.id}"
    posted = await post(
        session,
        Movement(
            key=key,
            kind=TransferKind.PAYPAL_PAY_IN,
            customer_id=row.customer_id,
            debit=AccountRef.agency(PAYPAL_ACCOUNT),
            credit=AccountRef.deposit(row.customer_id),
            amount=capture.amount,
            reference=capture.id,
        ),
    )
    row.transfer_id = posted.transfer.id
    row.status = "COMPLETED"
    if not posted.replayed:
        emit(
            session,
            Credited(
                customer_id=row.customer_id,
                method="paypal",
                amount=capture.amount,
                paypal_order_id=row.id,
                paypal_capture_id=capture.id,
                idempotency_key=key,
                transfer_id=posted.transfer.id,
                **balances(posted.deposit),
            ),
        )
    return not posted.replayed


async def genuine_webhook(
    paypal: PayPalClient, headers: dict[str, str], event: dict[str, Any], webhook_id: str
) -> bool:
    """Whether PayPal vouches for this delivery; PayPal unreachable is a 503, never a guess."""
    try:
        return await paypal.verify_webhook_signature(headers, event, webhook_id)
    except PayPalError as exc:
        raise _unavailable(exc) from exc


async def handle_webhook(*, session: AsyncSession, event: dict[str, Any], paypal: PayPalClient) -> str:
    """Apply a verified webhook: the capture is read from the PayPal order, not from the webhook's body.

    Even a delivery PayPal vouches for only says "look at this order": what is
    credited is the capture PayPal reports on the order we created, checked
    against that pay-in's amount and currency, once per capture id.
    """
    event_type = str(event.get("event_type", ""))
    if not event_type.startswith("PAYMENT.CAPTURE."):
        return "ignored"
    resource = event.get("resource") or {}
    try:
        order_id = str(resource["supplementary_data"]["related_ids"]["order_id"])
    except (KeyError, TypeError) as exc:
        raise InvalidInput(
            f"the capture in this webhook names no order: {exc}", code="unreadable-webhook", title="Unreadable webhook"
        ) from exc
    row = await _locked(session, order_id)
    if row is None:
        return "unknown-order"
    try:
        order = await paypal.get_order(order_id)
    except PayPalError as exc:
        raise _unavailable(exc) from exc
    if not order.captures:
        return "recorded"
    return "credited" if await apply_capture(session=session, row=row, capture=order.captures[0]) else "recorded"


def payout_through(client: PayPalClient, *, sealing_key: str) -> Payout:
    """How staff pay out a PayPal withdrawal: PayPal's Payouts API to the customer's PayPal e-mail.

    Agencies pay PayPal withdrawals from their PayPal business balance rather
    than by hand, so "Paid out" sends the payout and the hold is posted only
    once PayPal accepted it; PayPal unreachable is a 503 and nothing is posted,
    so staff simply try again (the same batch id: PayPal pays once).
    """

    async def pay(w: Withdrawal) -> str:
        destination = unseal(sealing_key, w.sealed_destination, WithdrawalMethod.PAYPAL)
        if not isinstance(destination, PayPalAccount):
            raise TypeError(f"withdrawal {w.id} is not a PayPal withdrawal")
        try:
            return await client.create_payout(
                sender_batch_id=f"daiko-{w.id}",
                email=destination.email,
                amount=w.amount,
                currency=CURRENCY,
                note=f"Withdrawal {w.id} from your deposit",
            )
        except PayPalUnavailable as exc:
            raise _unavailable(exc) from exc
        except PayPalError as exc:
            raise PayPalRefused(str(exc), title="PayPal refused the payout", issue=exc.issue) from exc

    return pay
