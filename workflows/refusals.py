"""Why the order refuses an operation: the ``type`` of the ApplicationError an update fails with.

Update validators raise these before anything is written to the workflow's
history, so a refused update leaves no trace and changes nothing. The orders
HTTP service maps every type to 409 Conflict except ``InvalidRequest`` (422).
A staff signal refused for the same reasons is recorded in the order's staff part (never the customer's).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NoReturn

from temporalio.exceptions import ApplicationError


class Refusal(StrEnum):
    ORDER_CLOSED = "OrderClosed"  # completed, canceled or abandoned
    PAYMENT_ALREADY_MADE = "PaymentAlreadyMade"  # R4: no customer cancel after a payment
    PAYMENT_IN_PROGRESS = "PaymentInProgress"  # a charge is waiting for the deposit's answer
    BILLING_NOT_FOUND = "BillingNotFound"
    BILLING_NOT_PAYABLE = "BillingNotPayable"  # already paid, being charged, or canceled
    BILLING_REVISED = "BillingRevised"  # the customer saw an older revision of the billing
    WRONG_STATUS = "WrongOrderStatus"  # the operation does not fit the order's progress
    WRONG_SERVICE = "WrongServiceType"  # e.g. confirm_handling on a purchase order
    WRONG_PLAN = "WrongPaymentPlan"  # e.g. a 2nd billing on the one-time plan
    ITEM_NOT_FOUND = "ItemNotFound"
    WRONG_ITEM_STATUS = "WrongItemStatus"
    REFUND_EXCEEDS_PAID = "RefundExceedsPaid"  # R8: at most what was paid (and not yet refunded)
    NO_SUCH_DEADLINE = "NoSuchDeadline"
    INVALID_REQUEST = "InvalidRequest"  # well-formed but inconsistent with the order
    MALFORMED_PAYLOAD = "MalformedPayload"  # a signal payload that is not the operation's model
    NOT_FROM_THE_LEDGER = "NotFromTheLedger"  # a money fact the ledger's signature does not vouch for
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"  # a signal payload over the cap: rejected before validation (order_workflow)
    UNKNOWN_SIGNAL = "UnknownSignal"  # a signal under a name the order has no handler for (a typo in the Web UI)


def refuse(refusal: Refusal, message: str) -> NoReturn:
    """Refuse the current operation; non-retryable, the caller must change something first."""
    raise ApplicationError(message, type=refusal.value, non_retryable=True)


def refusal_of(error: ApplicationError) -> Refusal | None:
    """The refusal an ApplicationError carries, if it is one of ours."""
    try:
        return Refusal(error.type) if error.type else None
    except ValueError:
        return None
