"""Reconciliation: what each order believes it holds, against what the ledger signed for it.

The deposit bridge records every charge and refund whose ledger signature
verifies (:func:`record_movement`, in the same transaction as the processed
event id). :func:`differences` compares, per order, the read model's
``paid_total - refunded_total`` with the ledger's charges minus refunds. A
refund the workflow asked for counts on the order's side at once, so an answer
still travelling shows as a difference for a moment: only orders and movements
quiet for longer than the grace period are reported.

Whatever reaches an order without the ledger (a forged signal or event) or
reaches the ledger without an order (a forged command, a refund of a paid order
that stays paid) shows up here: as a metric, a log line per difference, and
the staff list ``GET /v1/staff/reconciliation``.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.attestation import ledger_statement
from contracts.deposits import Charged, Refunded
from daiko.attestation import verify
from daiko.service import BackgroundTask
from services.orders.db import LedgerMovement

log = logging.getLogger(__name__)

differences_gauge = Gauge(
    "daiko_reconciliation_differences", "Orders whose read model and ledger disagree", ["service"]
).labels("orders")

_NETS = text(
    """
    WITH ledger AS (
        SELECT order_id, max(customer_id) AS customer_id,
               coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS charged,
               coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded,
               max(recorded_at) AS last_movement
        FROM ledger_movements GROUP BY order_id
    ), believed AS (
        SELECT order_id, customer_id,
               (view->>'paid_total')::bigint AS paid, (view->>'refunded_total')::bigint AS refunded,
               updated_at
        FROM orders
        WHERE (view->>'paid_total')::bigint > 0 OR (view->>'refunded_total')::bigint > 0
    )
    SELECT coalesce(b.order_id, l.order_id) AS order_id,
           coalesce(b.customer_id, l.customer_id) AS customer_id,
           coalesce(b.paid, 0) AS believed_paid, coalesce(b.refunded, 0) AS believed_refunded,
           coalesce(l.charged, 0) AS ledger_charged, coalesce(l.refunded, 0) AS ledger_refunded,
           b.order_id IS NOT NULL AS known
    FROM believed b FULL OUTER JOIN ledger l ON l.order_id = b.order_id
    WHERE coalesce(b.paid, 0) - coalesce(b.refunded, 0) <> coalesce(l.charged, 0) - coalesce(l.refunded, 0)
      AND greatest(b.updated_at, l.last_movement) < :quiet_since
    ORDER BY 1
    """
)


class Difference(BaseModel):
    """One order where the read model and the ledger disagree about the money it holds."""

    order_id: str
    customer_id: str
    believed_paid: int
    believed_refunded: int
    ledger_charged: int
    ledger_refunded: int
    known_to_orders: bool

    @property
    def amount(self) -> int:
        """Positive: the order believes it holds more than the ledger took."""
        held = self.believed_paid - self.believed_refunded
        return held - (self.ledger_charged - self.ledger_refunded)


class Reconciliation(BaseModel):
    checked_at: datetime
    grace_seconds: float
    differences: list[Difference]


async def record_movement(session: AsyncSession, answer: Charged | Refunded, ledger_keys: list[str]) -> bool:
    """Keep a money fact the ledger signed; False (and nothing kept) when its signature does not verify."""
    statement = ledger_statement(
        event_type=answer.type,  # type: ignore[arg-type]
        customer_id=answer.customer_id,
        order_id=answer.order_id,
        idempotency_key=str(answer.idempotency_key),
        amount=answer.amount,
        transfer_id=answer.transfer_id,
    )
    if not verify(ledger_keys, statement, answer.attestation):
        return False
    row = {
        "transfer_id": answer.transfer_id,
        "order_id": answer.order_id,
        "customer_id": answer.customer_id,
        "kind": "charge" if isinstance(answer, Charged) else "refund",
        "idempotency_key": str(answer.idempotency_key),
        "amount": answer.amount,
    }
    await session.execute(insert(LedgerMovement).values(**row).on_conflict_do_nothing(index_elements=["transfer_id"]))
    return True


async def differences(session: AsyncSession, grace: timedelta) -> Reconciliation:
    now = datetime.now(UTC)
    rows = (await session.execute(_NETS, {"quiet_since": now - grace})).mappings().all()
    found = [
        Difference(
            order_id=r["order_id"],
            customer_id=r["customer_id"],
            believed_paid=r["believed_paid"],
            believed_refunded=r["believed_refunded"],
            ledger_charged=r["ledger_charged"],
            ledger_refunded=r["ledger_refunded"],
            known_to_orders=r["known"],
        )
        for r in rows
    ]
    return Reconciliation(checked_at=now, grace_seconds=grace.total_seconds(), differences=found)


def reconciliation_task(
    sessions: async_sessionmaker[AsyncSession], *, grace: timedelta, every: timedelta
) -> BackgroundTask:
    """The periodic job: the gauge and one error log line per difference, every ``every``."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with sessions() as session:
                found = await differences(session, grace)
            differences_gauge.set(len(found.differences))
            for difference in found.differences:
                log.error("reconciliation: order and ledger disagree", extra=difference.model_dump())
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every.total_seconds())

    return run
