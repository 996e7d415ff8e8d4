"""The order workflow's activities, hosted by the orders service: record a transition, verify a money fact.

The read model and the outbox commit in one transaction, so an event is
published if and only if the state it describes was recorded. The workflow
retries the activity until it succeeds; the projection makes retries harmless.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from daiko import logs, tracing
from daiko.attestation import verify
from daiko.db import transaction
from services.orders.projection import apply_transition
from workflows import RECORD_TRANSITION, VERIFY_LEDGER_ATTESTATION
from workflows.ledger_claims import LedgerClaim
from workflows.models import OrderTransition


class LedgerVerifier:
    """Checks the ledger's signature on a money fact with the deposits service's public keys."""

    def __init__(self, ledger_public_keys: list[str]) -> None:
        self._ledger_keys = ledger_public_keys

    @activity.defn(name=VERIFY_LEDGER_ATTESTATION)
    async def verify_ledger_attestation(self, claim: LedgerClaim) -> bool:
        """Whether the ledger signed this statement; run as a local activity, so it costs no extra round trip."""
        signed = verify(self._ledger_keys, claim.statement.encode(), claim.attestation)
        if not signed:
            activity.logger.warning("a deposit answer is not signed by the ledger", extra={"claim": claim.statement})
        return signed


class OrderActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name=RECORD_TRANSITION)
    async def record_transition(self, transition: OrderTransition) -> None:
        """Upsert the read model (version-guarded) and enqueue the messages, atomically.

        In the trace of what caused the transition (a payment's request, the ledger's answer), not of the
        order's creation where Temporal's interceptor runs the activity: the outbox stores that context.
        """
        ids = {"order_id": transition.order_id, "customer_id": transition.customer_id}
        with (
            tracing.continued(
                transition.trace_context,
                f"record_transition v{transition.version}",
                attributes={f"daiko.{key}": value for key, value in ids.items()}
                | {"daiko.messages": [m.type for m in transition.messages]},
            ),
            logs.bound(**ids),
        ):
            async with transaction(self._sessions) as session:
                taken = await apply_transition(session, transition, activity.info().workflow_run_id)
        if not taken:
            activity.logger.info("order %s version %s was already recorded", transition.order_id, transition.version)
