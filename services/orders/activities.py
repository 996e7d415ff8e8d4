"""The order workflow's only I/O, hosted by the orders service: record a transition in its database.

The read model and the outbox commit in one transaction, so an event is
published if and only if the state it describes was recorded. The workflow
retries the activity until it succeeds; the projection makes retries harmless.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from daiko.db import transaction
from services.orders.projection import apply_transition
from workflows import RECORD_TRANSITION
from workflows.models import OrderTransition


class OrderActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name=RECORD_TRANSITION)
    async def record_transition(self, transition: OrderTransition) -> None:
        """Upsert the read model (version-guarded) and enqueue the messages, atomically."""
        async with transaction(self._sessions) as session:
            taken = await apply_transition(session, transition, activity.info().workflow_run_id)
        if not taken:
            activity.logger.info("order %s version %s was already recorded", transition.order_id, transition.version)
