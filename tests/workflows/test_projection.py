"""The ``record_transition`` activity against the stack's PostgreSQL, in a scratch database.

One transaction per transition: the read-model row (only ever moving to a
newer version) and the outbox rows (each event once, however often the
activity is retried).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from daiko.db import make_engine, make_session_factory
from daiko.events import DEPOSITS_COMMANDS, ORDERS_EVENTS, Envelope
from daiko.tables import PlumbingBase
from services.orders.activities import OrderActivities
from services.orders.db import Base, OrderRecord, Outbox
from tests.conftest import StackSettings
from tests.workflows.order_harness import ESTIMATE, application
from workflows.models import OrderTransition, OrderView, OutgoingMessage
from workflows.order_state import Order
from workflows.rules import billing

pytestmark = pytest.mark.stack
DATABASE = "daiko_test_order_projection"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def orders_db(stack: StackSettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    conn = await asyncpg.connect(
        host=stack.postgres_host, port=stack.postgres_port, user=stack.postgres_user,
        password=stack.postgres_password.get_secret_value(), database="postgres",
    )  # fmt: skip
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    engine = make_engine(stack.database_url(DATABASE), pool_size=2)
    async with engine.begin() as connection:
        # A scratch database: made anew from the models, so a column added since the last run is there.
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(PlumbingBase.metadata.drop_all)
        await connection.run_sync(PlumbingBase.metadata.create_all)
        await connection.run_sync(Base.metadata.create_all)
        await connection.execute(delete(OrderRecord))
        await connection.execute(delete(Outbox))
    yield make_session_factory(engine)
    await engine.dispose()


def transitions() -> list[OrderTransition]:
    """An order applied (v1) then estimated (v2), as the workflow would record them."""
    order = Order.open(application("proj-1"), T0)
    out: list[OrderTransition] = []
    for version, now in ((1, T0), (2, T0 + timedelta(hours=1))):
        if version == 2:
            billing.estimate(order, ESTIMATE, now, "staff")
        order.version = version
        messages = [
            OutgoingMessage(topic=e.topic, key=e.key, event_id=f"ev-{version}-{n}", type=e.type, data=e.data, time=now)
            for n, e in enumerate(order.effects)
        ]
        order.effects = []
        view = order.view().model_copy(deep=True)
        out.append(
            OrderTransition(order_id="proj-1", customer_id="cust-1", version=version, view=view, messages=messages)
        )
    return out


async def test_a_transition_writes_the_read_model_and_its_outbox_rows(
    orders_db: async_sessionmaker[AsyncSession],
) -> None:
    record = OrderActivities(orders_db).record_transition
    applied, estimated = transitions()

    await ActivityEnvironment().run(record, applied)
    await ActivityEnvironment().run(record, estimated)

    async with orders_db() as session:
        row = (await session.execute(select(OrderRecord))).scalar_one()
        outbox = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars().all()
    assert (row.version, row.status, row.customer_id) == (2, "awaiting_payment", "cust-1")
    assert row.next_deadline == estimated.view.next_deadline
    assert OrderView.model_validate(row.view).billings[0].total == 12300
    assert [(o.topic, Envelope.from_bytes(o.payload).type) for o in outbox] == [
        (ORDERS_EVENTS, "order.applied"),
        (ORDERS_EVENTS, "order.estimated"),
    ]
    envelope = Envelope.from_bytes(outbox[1].payload)
    assert (envelope.id, envelope.subject, outbox[1].key) == ("ev-2-0", "proj-1", "proj-1")
    assert DEPOSITS_COMMANDS not in {o.topic for o in outbox}


async def test_a_late_retry_never_overwrites_newer_state_nor_duplicates_events(
    orders_db: async_sessionmaker[AsyncSession],
) -> None:
    record = OrderActivities(orders_db).record_transition
    applied, estimated = transitions()

    for transition in (applied, estimated, applied, estimated):  # v1 retried after v2 committed
        await ActivityEnvironment().run(record, transition)

    async with orders_db() as session:
        version = await session.scalar(select(OrderRecord.version))
        events = await session.scalar(select(func.count()).select_from(Outbox))
    assert version == 2 and events == 2
