"""Overdue deadlines: open orders whose next deadline passed without its rule firing.

Each order's deadlines are timers of its workflow; when one fires, the rule's
transition rewrites the read model's ``next_deadline``. An open order whose
``next_deadline`` lies further in the past than the grace period therefore
means that the rule did not fire: no worker polls, the worker is stuck, or the
order's workflow is gone. Read from the read model at scrape time (the index on
``next_deadline`` keeps it cheap), for ``daiko_orders_deadlines_overdue`` and
the ``DaikoDeadlinesOverdue`` alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.metrics import Probe, Reading
from services.orders.db import OrderRecord
from workflows.models import CLOSED_STATUSES, OrderStatus

_NOT_RUNNING = [s.value for s in CLOSED_STATUSES | {OrderStatus.HALTED}]
"""Closed orders have no deadline left; a halted one's workflow is over and staff settle it (its own metric)."""


async def overdue(session: AsyncSession, grace: timedelta) -> tuple[int, float]:
    """How many open orders are overdue, and by how many seconds the oldest deadline has passed (0 if none)."""
    cutoff = datetime.now(UTC) - grace
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(OrderRecord.next_deadline)).where(
                OrderRecord.next_deadline < cutoff, OrderRecord.status.not_in(_NOT_RUNNING)
            )
        )
    ).one()
    late = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return int(count), late


def overdue_probe(sessions: async_sessionmaker[AsyncSession], grace: timedelta) -> Probe:
    """The scrape-time probe the orders service adds to the plumbing's (:func:`daiko.service.create_service_app`)."""

    async def read() -> list[Reading]:
        async with sessions() as session:
            count, late = await overdue(session, grace)
        labels = {"service": "orders"}
        return [
            Reading(
                "daiko_orders_deadlines_overdue",
                "Open orders whose next deadline passed longer ago than the grace period without its rule firing",
                labels,
                count,
            ),
            Reading(
                "daiko_orders_deadline_overdue_seconds",
                "How long ago the oldest overdue deadline passed (0 when none is overdue)",
                labels,
                late,
            ),
        ]

    return read
