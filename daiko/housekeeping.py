"""Purges the plumbing's bookkeeping that has outlived its use, on one schedule, in every service.

A processed-event id only matters while Kafka could still redeliver its event:
kept longer than the longest topic retention (30 days, ``deploy/topics.yaml``)
it never lets a duplicate through, and the table stays bounded. An
``Idempotency-Key`` answer is kept for ``daiko.idempotency.RETENTION``. The
outbox's published rows are purged by its relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from daiko import idempotency
from daiko.tables import ProcessedEvent

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)


async def purge_processed_events(engine: AsyncEngine, retention: timedelta) -> int:
    cutoff = datetime.now(UTC) - retention
    async with engine.begin() as conn:
        result = await conn.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < cutoff))
    return result.rowcount or 0


def housekeeping_task(engine: AsyncEngine, retention: timedelta) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task for the service skeleton: purge both now, then every hour, until shutdown."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            purged = await purge_processed_events(engine, retention)
            if purged:
                log.info("purged processed-event ids", extra={"rows": purged, "older_than": str(retention)})
            forgotten = await idempotency.purge(engine)
            if forgotten:
                log.info("idempotency keys purged", extra={"count": forgotten})
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=PURGE_EVERY.total_seconds())

    return run
