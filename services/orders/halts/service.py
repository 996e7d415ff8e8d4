"""Halted orders: noticing a workflow that ended abnormally, and settling what the order holds.

Three doors notice a halted order, all ending in :func:`record_halt`: the
sweep (:mod:`services.orders.halts.sweep`) that compares open orders of the
read model with Temporal's visibility, an operation that meets a closed
workflow (:func:`notice_ended`, from ``service.operate``), and the deposit
bridge when an answer finds no workflow to signal. Recording is one
transaction on the order's read-model row, locked: the row becomes
``halted`` (no operations, the explanation) and ``halted_orders`` gets what
staff need. Recording twice changes nothing.

Settling (:func:`request_settlement`) is a refund through the deposit's
ordinary path: a ``deposit.refund_requested`` command in the orders outbox,
under the order's next refund key, so the ledger moves the money once and
refuses more than the order was charged. The deposit's answer comes back
through the bridge to :func:`take_deposit_answer`, which records it in the
read model, because there is no workflow left to signal.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from contracts.deposits import RefundRequested
from contracts.topics import DEPOSITS_COMMANDS, topic
from daiko.errors import DomainError, NotFound
from daiko.events import Envelope
from daiko.outbox import enqueue_once
from services.orders.db import HaltedOrder, OrderRecord, Outbox
from services.orders.domain import OrderRefused, PageCursor
from services.orders.gateway import OrderWorkflows, WorkflowEnding
from services.orders.halts import domain as halt_rules
from workflows.models import DepositEvent, OrderStatus, OrderView

log = logging.getLogger(__name__)

Writer = AsyncSession | AsyncConnection
"""A caller's open transaction: the bridge's consumer session, the sweep's session, or a connection."""

halted_total = Counter("daiko_orders_halted_total", "Orders found halted (workflow ended abnormally)", ["cause", "by"])
settlements_total = Counter("daiko_orders_halted_settlements_total", "Halted-order settlement refunds", ["outcome"])


class OrderHalted(OrderRefused):
    """An operation on a halted order: nothing can run on it; staff settle it."""

    code = "order-halted"


class SettlementRefused(DomainError):
    """Staff asked to settle a halted order that cannot be settled now (one in flight, nothing held)."""

    code = "settlement-refused"


def halted_error(order_id: str, explanation: str) -> OrderHalted:
    return OrderHalted(f"order {order_id} is halted. {explanation}", title="The order is halted", refusal="halted")


async def _locked_order(conn: Writer, order_id: str) -> tuple[OrderStatus, OrderView] | None:
    row = (
        await conn.execute(
            select(OrderRecord.status, OrderRecord.view).where(OrderRecord.order_id == order_id).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return OrderStatus(row.status), OrderView.model_validate(row.view)


async def _store_view(conn: Writer, view: OrderView) -> None:
    await conn.execute(
        update(OrderRecord)
        .where(OrderRecord.order_id == view.order_id)
        .values(
            status=view.status.value,
            next_deadline=view.next_deadline,
            updated_at=view.updated_at,
            view=view.model_dump(mode="json"),
        )
    )


async def record_halt(conn: Writer, ending: WorkflowEnding, *, detected_by: str) -> OrderView | None:
    """Mark the order halted in the caller's transaction; the halted view, or None if it does not halt.

    An order already closed (its workflow ended after the order did) or
    already halted is left as it is.
    """
    found = await _locked_order(conn, ending.order_id)
    if found is None or not halt_rules.halts(ending.cause, found[0]):
        return None
    status, view = found
    cause = ending.cause or "missing"
    halted = halt_rules.halted_view(view, cause=cause, now=datetime.now(UTC))
    await _store_view(conn, halted)
    remember = insert(HaltedOrder).values(
        order_id=view.order_id,
        customer_id=view.customer_id,
        status_before=status.value,
        cause=cause,
        run_id=ending.run_id,
        workflow_ended_at=ending.ended_at,
        detected_by=detected_by,
    )
    await conn.execute(remember.on_conflict_do_nothing(index_elements=[HaltedOrder.order_id]))
    halted_total.labels(cause, detected_by).inc()
    log.warning(
        "order halted: its workflow ended abnormally",
        extra={"order_id": view.order_id, "cause": cause, "held": halt_rules.held(view), "by": detected_by},
    )
    return halted


async def notice_ended(reads: AsyncEngine, workflows: OrderWorkflows, order_id: str, *, by: str) -> OrderView | None:
    """An operation met a closed workflow: if it ended abnormally, the order is halted now (its view)."""
    ending = await workflows.ending(order_id)
    if ending.cause not in halt_rules.ABNORMAL_ENDINGS:
        return None
    # The API's reads run in autocommit; the halt needs a transaction holding the row's lock.
    async with reads.execution_options(isolation_level="READ COMMITTED").begin() as conn:
        return await record_halt(conn, ending, detected_by=by)


async def take_deposit_answer(conn: Writer, event: DepositEvent) -> bool:
    """Record a deposit answer for a halted order in its read model; False when the order is not halted."""
    found = await _locked_order(conn, event.order_id)
    if found is None or found[0] is not OrderStatus.HALTED:
        return False
    _, view = found
    now = datetime.now(UTC)
    answered = halt_rules.with_deposit_answer(view, event, now)
    if answered is None:
        log.info("deposit answer for a halted order changes nothing", extra={"event_id": event.event_id})
        return True
    await _store_view(conn, answered)
    settlement = halt_rules.settlement_of(view, event.refund_key or "")
    if settlement is not None:
        done = event.type == "deposit.refunded"
        await conn.execute(
            update(HaltedOrder)
            .where(HaltedOrder.order_id == event.order_id, HaltedOrder.refund_key == settlement.key)
            .values(
                settlement="refunded" if done else "rejected",
                settled_at=now if done else None,
                settlement_detail=f"deposit event {event.event_id}",
            )
        )
        settlements_total.labels("refunded" if done else "rejected").inc()
    log.info(
        "deposit answer recorded on a halted order",
        extra={"order_id": event.order_id, "type": event.type, "event_id": event.event_id},
    )
    return True


@dataclass(frozen=True)
class Settlement:
    order_id: str
    refund_key: str
    amount: int


async def request_settlement(session: AsyncSession, *, order_id: str, staff_id: str, note: str) -> Settlement:
    """Ask the deposit to refund everything the halted order holds, once; in the caller's transaction.

    Refused while a settlement refund is on its way, and when the order holds
    nothing (so a second request after a refund is a 409, never a second refund).
    """
    found = await _locked_order(session, order_id)
    if found is None or found[0] is not OrderStatus.HALTED:
        raise NotFound(f"halted order {order_id}")
    _, view = found
    record = await session.get(HaltedOrder, order_id, with_for_update=True)
    if record is None:
        raise NotFound(f"halted order {order_id}")
    if record.settlement == "requested":
        raise SettlementRefused(
            f"order {order_id}: the settlement refund {record.refund_key} is already on its way to the deposit",
            refund_key=record.refund_key,
        )
    amount = halt_rules.held(view)
    if amount <= 0:
        raise SettlementRefused(f"order {order_id} holds no money: nothing to refund", held=amount)
    now = datetime.now(UTC)
    key = halt_rules.next_refund_key(view)
    command = RefundRequested(
        order_id=order_id,
        customer_id=view.customer_id,
        amount=amount,
        idempotency_key=key,
        reason=f"{halt_rules.SETTLEMENT_REASON}: {note}" if note else halt_rules.SETTLEMENT_REASON,
    )
    commands = topic(DEPOSITS_COMMANDS)
    envelope = Envelope(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"daiko:orders:{key}")),  # one command per key, however often asked
        type=command.type,
        source=commands.source,
        time=now,
        subject=view.customer_id,
        data=command.to_data(),
    )
    await session.execute(enqueue_once(Outbox, topic=DEPOSITS_COMMANDS, key=view.customer_id, event=envelope))
    actor = f"staff:{staff_id}"
    await _store_view(session, halt_rules.with_settlement_requested(view, key=key, amount=amount, actor=actor, now=now))
    record.refund_key = str(key)
    record.refund_amount = amount
    record.refund_requested_by = staff_id
    record.refund_requested_at = now
    record.settlement = "requested"
    record.settlement_detail = note or None
    settlements_total.labels("requested").inc()
    log.info("halted order settlement requested", extra={"order_id": order_id, "amount": amount, "staff": staff_id})
    return Settlement(order_id=order_id, refund_key=str(key), amount=amount)


def _halted_rows() -> Select[*tuple[Any, ...]]:
    """Each halted order's halt record with the money from its view (the one place totals are kept)."""
    h = HaltedOrder
    return select(
        h.order_id,
        h.customer_id,
        h.status_before,
        h.cause,
        h.run_id,
        h.workflow_ended_at,
        h.detected_at,
        h.detected_by,
        h.refund_key,
        h.refund_amount,
        h.refund_requested_by,
        h.refund_requested_at,
        h.settlement,
        h.settled_at,
        OrderRecord.view["paid_total"].as_integer().label("paid_total"),
        OrderRecord.view["refunded_total"].as_integer().label("refunded_total"),
        OrderRecord.view["halted"]["explanation"].as_string().label("explanation"),
    ).join(OrderRecord, OrderRecord.order_id == h.order_id)


async def halted_order(conn: Writer, *, order_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_halted_rows().where(HaltedOrder.order_id == order_id))).first()
    return dict(row._mapping) if row is not None else None


async def list_halted(
    conn: Writer, *, holding: bool | None, cursor: PageCursor | None, limit: int
) -> tuple[list[dict[str, Any]], PageCursor | None]:
    """Halted orders, newest halt first; ``holding`` True keeps those still holding money, False the others."""
    statement = _halted_rows()
    held = OrderRecord.view["paid_total"].as_integer() - OrderRecord.view["refunded_total"].as_integer()
    if holding is True:
        statement = statement.where(held > 0)
    elif holding is False:
        statement = statement.where(held <= 0)
    if cursor is not None:
        statement = statement.where(
            tuple_(HaltedOrder.detected_at, HaltedOrder.order_id) < tuple_(cursor.created_at, cursor.order_id)
        )
    statement = statement.order_by(HaltedOrder.detected_at.desc(), HaltedOrder.order_id.desc()).limit(limit + 1)
    rows = [dict(row._mapping) for row in (await conn.execute(statement)).all()]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], PageCursor(created_at=last["detected_at"], order_id=last["order_id"])
