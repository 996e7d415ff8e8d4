"""The order read model and outbox, written from the workflow's ``record_transition`` activity.

One transition = one transaction: the read-model row (only if this version is
newer than the stored one, so a late activity retry never overwrites newer
state) and one outbox row per outgoing message. Outbox rows are keyed by their
deterministic event id and queued with ``enqueue_once``: an activity
retried after its commit (its result lost on the way back) writes nothing twice
and never fails on the unique event id. The messages' data was built from their
contracts by the workflow's rules; the envelope's ``source`` is the topic's producer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.topics import topic
from daiko.events import Envelope
from daiko.outbox import enqueue_once
from services.orders.db import OrderRecord, Outbox
from workflows.models import OrderStatus, OrderTransition


async def apply_transition(session: AsyncSession, transition: OrderTransition, run_id: str | None = None) -> bool:
    """Write one transition in the caller's transaction; True if the read model took this version.

    ``run_id`` is the workflow run that made it, kept so the halt sweep can tell a read model whose run was
    reset away.
    """
    view = transition.view
    row = {
        "order_id": transition.order_id,
        "customer_id": transition.customer_id,
        "status": view.status.value,
        "service_type": view.service_type.value,
        "payment_plan": view.payment_plan.value,
        "next_deadline": view.next_deadline,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "version": transition.version,
        "view": view.model_dump(mode="json"),
        "staff_view": transition.staff.model_dump(mode="json"),  # staff only, same version, same transaction
        "run_id": run_id,
    }
    insert_row = insert(OrderRecord).values(**row)
    newer = insert_row.excluded
    upsert = insert_row.on_conflict_do_update(
        index_elements=[OrderRecord.order_id],
        set_={name: newer[name] for name in row if name not in ("order_id", "created_at")},
        # A halted order's row is kept by the orders service now (services/orders/halts/): a late retry of
        # the ended workflow's activity must not bring its buttons back.
        where=(OrderRecord.version < newer.version) & (OrderRecord.status != OrderStatus.HALTED.value),
    ).returning(OrderRecord.version)
    taken = (await session.execute(upsert)).first() is not None
    if not taken and await _halted(session, transition.order_id):
        return False  # nor its messages: the halted order's money is settled by staff, not by a dead run
    for message in transition.messages:
        envelope = Envelope(
            id=message.event_id,
            type=message.type,
            source=topic(message.topic).source,
            time=message.time,
            subject=message.key,
            data=message.data,
        )
        await session.execute(enqueue_once(Outbox, topic=message.topic, key=message.key, event=envelope))
    return taken


async def _halted(session: AsyncSession, order_id: str) -> bool:
    status = await session.scalar(select(OrderRecord.status).where(OrderRecord.order_id == order_id))
    return status == OrderStatus.HALTED.value
