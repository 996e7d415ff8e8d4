"""The staff part of an order as the read model keeps it: its own column, read only by the staff API.

The customer's ``GET /v1/orders/{id}`` serves the stored view as it is, so
whatever only staff may see (internal notes, rejected signals, staff alerts)
is never inside it: the projection writes it to ``orders.staff_view`` in the
same transaction and version as the view, and only this module reads it.
"""

from __future__ import annotations

from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.orders.db import OrderRecord

_STAFF_PART_OF = select(cast(OrderRecord.staff_view, Text)).where(OrderRecord.order_id == bindparam("order_id"))


async def staff_part_json(conn: AsyncConnection, *, order_id: str) -> str | None:
    """The stored staff part as JSON text; None before the order's first transition (or from before the column)."""
    part: str | None = await conn.scalar(_STAFF_PART_OF, {"order_id": order_id})
    return part
