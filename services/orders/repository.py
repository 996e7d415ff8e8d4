"""Database operations of the orders API: applications (idempotency) and reads of the read model.

The read model (``orders``) is written only by the workflow's activities
(``services/orders/projection.py``); the API only reads it. Functions take the
session keyword-only and leave transactions to the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import BigInteger, Text, bindparam, cast, column, delete, exists, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from daiko.db import transaction
from services.orders.db import AppliedOrder, OrderRecord
from services.orders.domain import PageCursor
from workflows.models import BillingStatus, OrderStatus, ServiceType

Reader = AsyncSession | AsyncConnection
"""Reads run on a plain autocommit connection (no BEGIN/ROLLBACK round trips) or inside a session."""


@dataclass(frozen=True)
class Reservation:
    order_id: str
    fingerprint: str
    created: bool  # False: the key was used before, this is (or pretends to be) a replay


async def reserve_application(
    session: AsyncSession, *, order_id: str, customer_id: str, idempotency_key: str | None, fingerprint: str
) -> Reservation:
    """Claim the order id for this application; with a key already used, return that order's id instead."""
    statement = (
        insert(AppliedOrder)
        .values(order_id=order_id, customer_id=customer_id, idempotency_key=idempotency_key, fingerprint=fingerprint)
        .on_conflict_do_nothing(index_elements=["customer_id", "idempotency_key"])
        .returning(AppliedOrder.order_id)
    )
    if (await session.execute(statement)).first() is not None:
        return Reservation(order_id=order_id, fingerprint=fingerprint, created=True)
    earlier = (
        await session.execute(
            select(AppliedOrder.order_id, AppliedOrder.fingerprint).where(
                AppliedOrder.customer_id == customer_id, AppliedOrder.idempotency_key == idempotency_key
            )
        )
    ).one()
    return Reservation(order_id=earlier.order_id, fingerprint=earlier.fingerprint, created=False)


async def forget_application(session: AsyncSession, *, order_id: str) -> None:
    """Drop a reservation whose workflow could not be started and that no client can replay."""
    await session.execute(delete(AppliedOrder).where(AppliedOrder.order_id == order_id))


async def applied_by(session: Reader, *, order_id: str) -> str | None:
    """The customer who applied for the order, known even before the read model has it."""
    owner: str | None = await session.scalar(select(AppliedOrder.customer_id).where(AppliedOrder.order_id == order_id))
    return owner


async def order_view_json(session: Reader, *, order_id: str, customer_id: str | None = None) -> str | None:
    """The R1 view as the projection stored it, as JSON text (the API reads it in one pass: ``mapping.view_json``)."""
    if customer_id is None:
        view: str | None = await session.scalar(_VIEW_OF, {"order_id": order_id})
    else:
        view = await session.scalar(_VIEW_OF_CUSTOMERS, {"order_id": order_id, "customer_id": customer_id})
    return view


# Built once: the hot read path binds values, instead of building and coercing a statement per request.
_VIEW_OF = select(cast(OrderRecord.view, Text)).where(OrderRecord.order_id == bindparam("order_id"))
_VIEW_OF_CUSTOMERS = _VIEW_OF.where(OrderRecord.customer_id == bindparam("customer_id"))


@dataclass(frozen=True)
class OrderHead:
    order_id: str
    customer_id: str
    status: OrderStatus
    projected: bool  # False: known only from its application, the read model has no row yet


async def order_head(session: Reader, *, order_id: str) -> OrderHead | None:
    """Who owns the order and where it stands, from the read model or, just after applying, the application."""
    row = (
        await session.execute(
            select(OrderRecord.customer_id, OrderRecord.status).where(OrderRecord.order_id == order_id)
        )
    ).first()
    if row is not None:
        return OrderHead(order_id=order_id, customer_id=row.customer_id, status=OrderStatus(row.status), projected=True)
    owner = await applied_by(session, order_id=order_id)
    if owner is None:
        return None
    return OrderHead(order_id=order_id, customer_id=owner, status=OrderStatus.APPLIED, projected=False)


class Applications(Protocol):
    """What applying for an order needs to keep: each application's order id, found again by its Idempotency-Key.

    A protocol so the use case (``service.apply_for_order``) runs against an
    in-memory fake in unit tests; :class:`StoredApplications` is the real one.
    """

    async def reserve(
        self, *, order_id: str, customer_id: str, idempotency_key: str | None, fingerprint: str
    ) -> Reservation: ...

    async def forget(self, *, order_id: str) -> None: ...

    async def head(self, *, order_id: str) -> OrderHead | None: ...


class StoredApplications:
    """Applications in the orders database (``applied_orders``), each call committed on its own.

    The reservation must commit before the workflow starts (that fixes the
    order id a retry finds), so no call shares a transaction with another.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def reserve(
        self, *, order_id: str, customer_id: str, idempotency_key: str | None, fingerprint: str
    ) -> Reservation:
        async with transaction(self._sessions) as session:
            return await reserve_application(
                session,
                order_id=order_id,
                customer_id=customer_id,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )

    async def forget(self, *, order_id: str) -> None:
        async with transaction(self._sessions) as session:
            await forget_application(session, order_id=order_id)

    async def head(self, *, order_id: str) -> OrderHead | None:
        async with self._sessions() as session:
            return await order_head(session, order_id=order_id)


@dataclass(frozen=True)
class OrderFilter:
    customer_id: str | None = None
    statuses: Collection[OrderStatus] | None = None
    service_type: ServiceType | None = None
    deadline_before: datetime | None = None
    deadline_after: datetime | None = None
    # Part of an item's name, any case: staff look an order up by what the customer asked for.
    item_name: str | None = None
    # Part of the order id, any case: staff look an order up by what the customer quotes.
    order_id_part: str | None = None


def _like_pattern(part: str) -> str:
    """An ILIKE pattern matching ``part`` anywhere, its own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _staff_columns(o: type[OrderRecord]) -> tuple[Any, ...]:
    """What a staff row shows besides the customer's: item names, billed (billings not canceled) and paid totals.

    Read from the stored view of each row of the page only, so they cost nothing on the filters.
    """
    item = func.jsonb_array_elements(o.view["items"]).table_valued(column("value", JSONB)).alias("named_item")
    names = select(func.coalesce(func.array_agg(item.c.value["name"].astext), literal([], ARRAY(Text))))
    billing = func.jsonb_array_elements(o.view["billings"]).table_valued(column("value", JSONB)).alias("billing")
    billed = select(
        func.coalesce(func.sum(billing.c.value["total"].astext.cast(BigInteger)), 0).cast(BigInteger)
    ).where(billing.c.value["status"].astext != BillingStatus.CANCELED.value)
    return (
        names.select_from(item).scalar_subquery().label("item_names"),
        billed.select_from(billing).scalar_subquery().label("billed_total"),
        func.coalesce(o.view["paid_total"].astext.cast(BigInteger), 0).label("paid_total"),
    )


async def list_orders(
    session: Reader, *, where: OrderFilter, cursor: PageCursor | None, limit: int
) -> tuple[Sequence[dict[str, Any]], PageCursor | None]:
    """A page of orders, newest first, and the cursor of the next page (None on the last one)."""
    o = OrderRecord
    statement = select(
        o.order_id,
        o.customer_id,
        o.status,
        o.service_type,
        o.payment_plan,
        o.next_deadline,
        o.created_at,
        o.updated_at,
        o.version,
        func.jsonb_array_length(o.view["items"]).label("item_count"),
        o.view["pending_operations"].label("pending_operations"),
        *_staff_columns(o),
    )
    if where.customer_id is not None:
        statement = statement.where(o.customer_id == where.customer_id)
    if where.statuses is not None:
        statement = statement.where(o.status.in_([s.value for s in where.statuses]))
    if where.service_type is not None:
        statement = statement.where(o.service_type == where.service_type.value)
    if where.deadline_before is not None:
        statement = statement.where(o.next_deadline < where.deadline_before)
    if where.deadline_after is not None:
        statement = statement.where(o.next_deadline > where.deadline_after)
    if where.order_id_part is not None:
        statement = statement.where(o.order_id.ilike(literal(_like_pattern(where.order_id_part)), escape="\\"))
    if where.item_name is not None:
        item = func.jsonb_array_elements(o.view["items"]).table_valued(column("value", JSONB)).alias("item")
        named = item.c.value["name"].astext.ilike(literal(_like_pattern(where.item_name)), escape="\\")
        statement = statement.where(exists(select(1).select_from(item).where(named)))
    if cursor is not None:
        statement = statement.where(tuple_(o.created_at, o.order_id) < tuple_(cursor.created_at, cursor.order_id))
    statement = statement.order_by(o.created_at.desc(), o.order_id.desc()).limit(limit + 1)
    rows = [dict(row._mapping) for row in (await session.execute(statement)).all()]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], PageCursor(created_at=last["created_at"], order_id=last["order_id"])
