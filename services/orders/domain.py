"""Rules of the orders service that need no I/O: ids, list tabs, paging, refusals, deposit events.

The order's own rules live in the workflow (``workflows/``); what is here is
the service's side of the contract: how an application becomes an order id,
which statuses each tab of the order list shows, how a refusal of the
workflow is named, and which deposit events concern an order. Refusals are
domain exceptions; ``services.orders.app`` says which HTTP status each has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from contracts.deposits import Charged, ChargeRejected, Refunded, RefundRejected
from contracts.ids import ID_MAX_LENGTH
from contracts.topics import DEPOSITS_EVENTS, topic
from daiko.errors import DomainError
from daiko.events import Envelope
from workflows.models import CLOSED_STATUSES, DepositEvent, OrderStatus, ServiceType
from workflows.refusals import Refusal

MAX_CUSTOMER_ID = ID_MAX_LENGTH  # one id limit on every service's columns and events (contracts.ids)
_ORDER_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: read aloud over the phone


def new_order_id(service_type: ServiceType, applied_at: datetime, token: str | None = None) -> str:
    """An order number staff and customers can read out: ``P261126-7KQ2M9XA`` (service, date, random)."""
    token = token or "".join(secrets.choice(_ORDER_ID_ALPHABET) for _ in range(8))
    prefix = "P" if service_type is ServiceType.PURCHASE else "F"
    return f"{prefix}{applied_at:%y%m%d}-{token}"


def application_fingerprint(application: Mapping[str, Any]) -> str:
    """Same application, same fingerprint, whatever the key order or spacing of the request body."""
    canonical = json.dumps(application, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- list tabs


class OrderTab(StrEnum):
    """The tabs of the customer's order list (seed: ongoing, completed, canceled orders)."""

    ONGOING = "ongoing"
    COMPLETED = "completed"
    CANCELED = "canceled"


def statuses_of(tab: OrderTab) -> frozenset[OrderStatus]:
    """Abandoned (R11) and halted orders ended without delivery, so they are listed with the canceled ones."""
    ended_undelivered = frozenset({OrderStatus.CANCELED, OrderStatus.ABANDONED, OrderStatus.HALTED})
    if tab is OrderTab.COMPLETED:
        return frozenset({OrderStatus.COMPLETED})
    if tab is OrderTab.CANCELED:
        return ended_undelivered
    return frozenset(OrderStatus) - CLOSED_STATUSES - ended_undelivered


# --------------------------------------------------------------------------- paging


@dataclass(frozen=True)
class PageCursor:
    """Keyset position in a newest-first list: stable while new orders arrive, unlike page numbers."""

    created_at: datetime
    order_id: str

    def encode(self) -> str:
        raw = json.dumps({"c": self.created_at.isoformat(), "o": self.order_id}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> PageCursor:
        """Raises ``ValueError`` for anything that is not a cursor this service handed out."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(raw)
            created_at = datetime.fromisoformat(data["c"])
            order_id = data["o"]
        except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError("not a valid page cursor") from exc
        if created_at.tzinfo is None or not isinstance(order_id, str):
            raise ValueError("not a valid page cursor")
        return cls(created_at=created_at, order_id=order_id)


# --------------------------------------------------------------------------- refusals


_REFUSAL_TITLES: dict[Refusal, str] = {
    Refusal.ORDER_CLOSED: "The order is closed",
    Refusal.PAYMENT_ALREADY_MADE: "A payment has already been made",
    Refusal.PAYMENT_IN_PROGRESS: "A payment is in progress",
    Refusal.BILLING_NOT_FOUND: "No such billing",
    Refusal.BILLING_NOT_PAYABLE: "The billing cannot be paid",
    Refusal.BILLING_REVISED: "The billing has been revised",
    Refusal.WRONG_STATUS: "Not possible at this stage of the order",
    Refusal.WRONG_SERVICE: "Not possible for this service type",
    Refusal.WRONG_PLAN: "Not possible for this payment plan",
    Refusal.ITEM_NOT_FOUND: "No such item",
    Refusal.WRONG_ITEM_STATUS: "Not possible for the item's status",
    Refusal.REFUND_EXCEEDS_PAID: "The refund exceeds what was paid",
    Refusal.NO_SUCH_DEADLINE: "No such deadline",
    Refusal.INVALID_REQUEST: "Invalid request for this order",
    Refusal.MALFORMED_PAYLOAD: "Invalid request",
    Refusal.NOT_FROM_THE_LEDGER: "Not a money fact of the ledger",
    Refusal.PAYLOAD_TOO_LARGE: "Payload too large",
    Refusal.UNKNOWN_SIGNAL: "No such signal",
}
_UNPROCESSABLE = frozenset({Refusal.INVALID_REQUEST, Refusal.MALFORMED_PAYLOAD})


class NotACustomer(DomainError):
    """The token's subject cannot own an order (empty, or longer than the customer id columns)."""

    code = "forbidden"


class OrderRefused(DomainError):
    """The order's workflow said no to an operation at its current stage; ``refusal`` names the rule."""


class RequestUnfitForOrder(OrderRefused):
    """The request itself does not fit the order (e.g. a deadline it does not have)."""


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def refusal_error(refusal_type: str | None, message: str) -> OrderRefused:
    """The workflow's refusal (its ``ApplicationError`` type) as the service's exception; unknown types stay 409."""
    try:
        refusal: Refusal | None = Refusal(refusal_type) if refusal_type else None
    except ValueError:
        refusal = None
    if refusal is None:
        return OrderRefused(message, refusal=refusal_type)
    kind = RequestUnfitForOrder if refusal in _UNPROCESSABLE else OrderRefused
    return kind(message, code=_kebab(refusal.value), title=_REFUSAL_TITLES[refusal], refusal=refusal.value)


def closed_order_error(order_id: str, status: str | None) -> OrderRefused:
    """An operation on an order whose workflow has already ended."""
    state = f"is {status}" if status else "has ended"
    return refusal_error(Refusal.ORDER_CLOSED.value, f"order {order_id} {state}; nothing can be done on it any more")


# --------------------------------------------------------------------------- the deposit bridge

DEPOSITS = topic(DEPOSITS_EVENTS)


class NotAnOrderEvent(Exception):
    """An answer to an order that its contract allows but that cannot be relayed (it names no billing)."""


def deposit_event_for_order(envelope: Envelope) -> DepositEvent | None:
    """The ``deposit_event`` signal for an order, or None when the event concerns no order.

    Raises :class:`contracts.ContractViolation` when the envelope breaks the deposit
    events' contract (the bridge's consumer parks such events before they get
    here), and :class:`NotAnOrderEvent` for an answer that names its order but
    not which billing (an invalid command's rejection): retrying cannot fix either.
    """
    answer = DEPOSITS.parse(envelope.type, envelope.data)
    billing_seq = revision = shortfall = transfer_id = None
    refund_key = attestation = None
    if isinstance(answer, Charged | Refunded):  # a money fact: the workflow checks the ledger's signature
        transfer_id, attestation = answer.transfer_id, answer.attestation
    if isinstance(answer, Charged | ChargeRejected):
        key = answer.idempotency_key  # the key the workflow asked with names the billing too
        billing_seq = answer.billing_seq if answer.billing_seq is not None else key.billing_seq if key else None
        revision = answer.revision if answer.revision is not None else key.revision if key else None
        shortfall = answer.shortfall if isinstance(answer, ChargeRejected) else None
    elif isinstance(answer, Refunded | RefundRejected):
        refund_key = str(answer.idempotency_key) if answer.idempotency_key else None
        shortfall = answer.shortfall if isinstance(answer, RefundRejected) else None
    else:
        return None  # a pay-in or a withdrawal: no order is waiting for it
    if answer.order_id is None:
        return None
    try:
        return DepositEvent(
            event_id=envelope.id,
            type=answer.type,  # type: ignore[arg-type]
            order_id=answer.order_id,
            billing_seq=billing_seq,
            revision=revision,
            amount=answer.amount or 0,
            shortfall=shortfall,
            refund_key=refund_key,
            transfer_id=transfer_id,
            attestation=attestation,
        )
    except ValidationError as exc:
        raise NotAnOrderEvent(f"{envelope.type} {envelope.id} for order {answer.order_id}: {exc}") from exc
