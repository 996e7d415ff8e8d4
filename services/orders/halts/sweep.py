"""The sweep that finds halted orders: open orders of the read model whose workflow is no longer running.

Temporal does not tell anyone when staff terminate a workflow from the Web
UI (or it fails, times out, is canceled or deleted). So, every
``DAIKO_HALT_SWEEP_INTERVAL``, the orders service walks the read model's open
orders in batches and asks Temporal's visibility about each batch in one
list query (``WorkflowId IN (...)``) rather than describing thousands of
workflows one by one. Each open order whose newest run ended abnormally, or
whose read model's run was reset away, is recorded as halted
(:func:`services.orders.halts.service.record_halt`). The pass ends by counting
the halted orders still holding money, for the metric staff watch.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.db import transaction
from daiko.errors import Unavailable
from daiko.service import BackgroundTask
from services.orders.db import HaltedOrder, OrderRecord
from services.orders.gateway import OrderWorkflows
from services.orders.halts import domain as halt_rules
from services.orders.halts import service as halts
from workflows.models import CLOSED_STATUSES, OrderStatus

log = logging.getLogger(__name__)

HALT_SWEEP = "orders-halt-sweep"
_SETTLED_OR_SHUT = [s.value for s in CLOSED_STATUSES | {OrderStatus.HALTED}]

holding_gauge = Gauge("daiko_orders_halted_holding", "Halted orders still holding money (staff must settle them)")


async def open_orders(session: AsyncSession, *, after: str | None, limit: int) -> dict[str, str | None]:
    """The next batch of open orders (neither closed nor halted), in order id order, with their read model's run."""
    statement = select(OrderRecord.order_id, OrderRecord.run_id).where(OrderRecord.status.not_in(_SETTLED_OR_SHUT))
    if after is not None:
        statement = statement.where(OrderRecord.order_id > after)
    rows = (await session.execute(statement.order_by(OrderRecord.order_id).limit(limit))).all()
    return {row.order_id: row.run_id for row in rows}


async def sweep_once(sessions: async_sessionmaker[AsyncSession], workflows: OrderWorkflows, *, batch: int) -> int:
    """One pass over every open order; how many it found halted."""
    found = 0
    after: str | None = None
    while True:
        async with sessions() as session:
            batch_of = await open_orders(session, after=after, limit=batch)
        if not batch_of:
            break
        after = list(batch_of)[-1]  # the last in the database's own order, which the next page continues
        endings = await workflows.endings(batch_of)
        for ending in endings.values():
            if ending.cause not in halt_rules.ABNORMAL_ENDINGS:
                continue
            async with transaction(sessions) as session:
                if await halts.record_halt(session, ending, detected_by="sweep") is not None:
                    found += 1
    async with sessions() as session:
        holding = await session.scalar(
            select(func.count())
            .select_from(HaltedOrder)
            .join(OrderRecord, OrderRecord.order_id == HaltedOrder.order_id)
            .where(OrderRecord.view["paid_total"].as_integer() > OrderRecord.view["refunded_total"].as_integer())
        )
    holding_gauge.set(holding or 0)
    return found


def halt_sweep_task(
    *, sessions: async_sessionmaker[AsyncSession], workflows: OrderWorkflows, interval: timedelta, batch: int
) -> BackgroundTask:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                found = await sweep_once(sessions, workflows, batch=batch)
                if found:
                    log.warning("halted orders found", extra={"count": found})
            except Unavailable as down:  # Temporal unreachable: try again next time
                log.warning("halt sweep skipped: Temporal unavailable", extra={"detail": down.detail})
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval.total_seconds())

    return run
