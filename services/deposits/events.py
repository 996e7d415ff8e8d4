"""The commands consumer: order workflow → ``daiko.deposits.commands.v1`` → charges and refunds.

Runs inside :func:`daiko.consumer.apply_once`, so the command's id is recorded
in the same transaction as its transfer and its answer event: a redelivered
command changes nothing. A command that can never be applied (missing fields,
a non-integer amount) is answered with a rejection rather than retried forever,
so the workflow hears back and the partition keeps moving.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.events import Envelope
from services.deposits.charges import charge, refund
from services.deposits.ledger_store import deposit_of
from services.deposits.messages import (
    CHARGE_REJECTED,
    CHARGE_REQUESTED,
    REFUND_REJECTED,
    REFUND_REQUESTED,
    ChargeRequested,
    RefundRequested,
    deposit_fields,
    emit,
)

log = logging.getLogger(__name__)

_ECHOED = ("order_id", "billing_seq", "revision", "amount", "idempotency_key", "reason")


async def handle_command(session: AsyncSession, event: Envelope) -> None:
    if event.type == CHARGE_REQUESTED:
        try:
            await charge(session=session, command=ChargeRequested.model_validate(event.data))
        except ValidationError as exc:
            await _refuse_invalid(session, event, CHARGE_REJECTED, exc)
    elif event.type == REFUND_REQUESTED:
        try:
            await refund(session=session, command=RefundRequested.model_validate(event.data))
        except ValidationError as exc:
            await _refuse_invalid(session, event, REFUND_REJECTED, exc)
    else:
        log.info("ignoring a command of unknown type", extra={"type": event.type, "event_id": event.id})


async def _refuse_invalid(session: AsyncSession, event: Envelope, answer: str, exc: ValidationError) -> None:
    customer_id = event.data.get("customer_id")
    if not isinstance(customer_id, str) or not customer_id or len(customer_id) > 100:
        customer_id = event.subject
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    log.error("invalid command refused", extra={"type": event.type, "event_id": event.id, "errors": problems})
    # Echo only well-typed fields, so a reader of the answer can always parse it.
    echo: dict[str, Any] = {
        k: v
        for k in _ECHOED
        if (v := event.data.get(k)) is not None
        and (isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)))
    }
    emit(
        session,
        answer,
        customer_id,
        {
            **echo,
            "rejection": "invalid-command",
            "errors": problems,
            "command_id": event.id,
            "shortfall": 0,
            **deposit_fields(await deposit_of(session, customer_id)),
        },
    )
