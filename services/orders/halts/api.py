"""Staff API of halted orders: list them with the money they hold, and settle them by a refund.

A halted order (its workflow ended abnormally: services/orders/halts/service.py) is
also in ``GET /v1/staff/orders?status=halted``; this router adds what only a
halted order has: why it halted, what it holds, and the one operation left on
it, the settlement refund to the customer's deposit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from daiko.auth import StaffDep
from daiko.db import transaction
from daiko.errors import NotFound
from daiko.openapi import problem_responses
from services.orders.deps import CursorDep, Limit, OrderId, ReadsDep, SessionsDep
from services.orders.halts import service as halts
from services.orders.halts.schemas import HaltedOrder, HaltedOrderPage, SettlementIn

router = APIRouter(prefix="/v1/staff/halted-orders", tags=["orders-staff"])


@router.get(
    "",
    summary="Halted orders (workflow ended abnormally), newest first, with the money each holds",
    responses=problem_responses(401, 403, 422),
)
async def list_halted_orders(
    staff: StaffDep,
    reads: ReadsDep,
    cursor: CursorDep,
    holding: Annotated[
        bool | None, Query(description="true: only those still holding money; false: only those holding none")
    ] = None,
    limit: Limit = 50,
) -> HaltedOrderPage:
    async with reads.connect() as conn:
        rows, after = await halts.list_halted(conn, holding=holding, cursor=cursor, limit=limit)
    return HaltedOrderPage(
        orders=[HaltedOrder.from_row(row) for row in rows], next_cursor=after.encode() if after else None
    )


@router.get("/{order_id}", summary="One halted order", responses=problem_responses(401, 403, 404, 422))
async def get_halted_order(order_id: OrderId, staff: StaffDep, reads: ReadsDep) -> HaltedOrder:
    async with reads.connect() as conn:
        row = await halts.halted_order(conn, order_id=order_id)
    if row is None:
        raise NotFound(f"halted order {order_id}")
    return HaltedOrder.from_row(row)


@router.post(
    "/{order_id}/refund",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Settle a halted order: refund everything it holds to the customer's deposit",
    description="The refund goes to the deposit as a `deposit.refund_requested` command under the order's next "
    "refund key; the order shows settled once the deposit answers `deposit.refunded`. Refused (409) while a "
    "settlement refund is on its way and when the order holds nothing, so asking twice never refunds twice.",
    responses=problem_responses(401, 403, 404, 409, 422, s409="A settlement is on its way, or nothing is held"),
)
async def settle_halted_order(
    order_id: OrderId,
    staff: StaffDep,
    sessions: SessionsDep,
    reads: ReadsDep,
    request: Annotated[SettlementIn | None, Body()] = None,
) -> HaltedOrder:
    async with transaction(sessions) as session:
        await halts.request_settlement(
            session, order_id=order_id, staff_id=staff.subject, note=(request or SettlementIn()).note
        )
    async with reads.connect() as conn:
        row = await halts.halted_order(conn, order_id=order_id)
    assert row is not None  # it was there inside the transaction that just committed
    return HaltedOrder.from_row(row)
