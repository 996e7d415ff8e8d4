"""A part being down must make consumers wait, never park the event as if it were poison.

The idempotent consumer (``daiko.consumer``) retries a transient failure
forever and parks an event in ``dead_letters`` after a few non-transient
ones. A deposit answer that meets Temporal down is not poison: parked, it
would leave its order "charging" for ever with the customer's money taken.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import is_transient
from daiko.events import Envelope
from services.orders.events import deposit_bridge_handler
from services.orders.gateway import OrderWorkflows, temporal_unavailable
from services.orders.settings import OrdersSettings
from tests.services.orders.driver import _ledger_signs


class TemporalDown(OrderWorkflows):
    """What the gateway raises for every call while Temporal cannot be reached."""

    async def signal(self, order_id: str, signal: str, payload: BaseModel) -> None:
        raise temporal_unavailable(f"Temporal did not answer for order {order_id}: connection refused")


def charged(order_id: str) -> Envelope:
    data: dict[str, Any] = {
        "order_id": order_id,
        "customer_id": "cust-1",
        "billing_seq": 1,
        "revision": 1,
        "amount": 6300,
        "idempotency_key": f"charge:{order_id}:1:1",
        "transfer_id": 1,
        "replayed": False,
        "charged_at": "2026-11-26T01:00:00+00:00",
        "balance": 0,
        "held": 0,
        "available": 0,
    }
    data["attestation"] = _ledger_signs("deposit.charged", data)  # the ledger's own answer, signed
    return Envelope(type="deposit.charged", source="daiko/deposits", subject="cust-1", data=data)


async def test_a_deposit_answer_that_meets_temporal_down_fails_transiently_so_it_is_retried_not_parked(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    handler = deposit_bridge_handler(TemporalDown(OrdersSettings()), OrdersSettings().ledger_public_keys)
    async with db_sessions["orders"]() as session:  # rolled back: the consumer's transaction would be too
        with pytest.raises(Exception) as failure:
            await handler(session, charged(f"P261126-OUT{uuid.uuid4().hex[:6].upper()}"))
        await session.rollback()
    assert is_transient(failure.value), repr(failure.value)
