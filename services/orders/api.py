"""Customer API of the orders service (docs/architecture.md): apply, list, the order-details view, operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ids import ItemId
from daiko.auth import CreatingDep, CustomerDep
from daiko.idempotency import Answer, IdempotencyKey, idempotent
from daiko.openapi import IN_FLIGHT, problem_responses
from services.orders import mapping, repository, service
from services.orders.deps import CursorDep, Limit, OrderId, OrdersState, ReadsDep, StateDep
from services.orders.domain import OrderTab, statuses_of
from services.orders.schemas import (
    AddTrackingIn,
    ApplicationIn,
    CustomerCancelRequest,
    OrderAccepted,
    OrderDetails,
    OrderPage,
    OrderView,
    PayBillingRequest,
    ReceptionReportIn,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])

ItemIdPath = Annotated[ItemId, Path(description="The item's number within its order", examples=["1"])]

_AUTH = problem_responses(401, 403, 422)
_ONE_ORDER = problem_responses(401, 403, 404, 422, 503)
_VIEW = mapping.view_responses()
_DETAILS = mapping.details_responses()
_OPERATION = problem_responses(
    401, 403, 404, 409, 422, 503, s409="The order refuses the operation now; `detail` says why"
)


async def operated(
    state: OrdersState, order_id: str, customer_id: str | None, update: str, payload: BaseModel
) -> OrderView:
    """Run one operation on the order's workflow (``customer_id`` None: as staff) and show the order after it."""
    view = await service.operate(
        reads=state.reads,
        workflows=state.workflows,
        order_id=order_id,
        customer_id=customer_id,
        update=update,
        payload=payload,
    )
    return mapping.view(view)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderAccepted,
    summary="Apply for an order (purchase or forward service)",
    description="Send an `Idempotency-Key` and retry with it: one application, one order; a replay gets the "
    "first answer.",
    responses=problem_responses(
        401,
        403,
        409,
        422,
        503,
        s409=IN_FLIGHT,
        s422="Invalid application, or the Idempotency-Key was used for another one",
    ),
)
async def apply(
    application: ApplicationIn,
    request: Request,
    customer: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(_: AsyncSession) -> Answer:
        applied = await service.apply_for_order(
            applications=repository.StoredApplications(state.sessions),
            workflows=state.workflows,
            settings=state.settings,
            customer_id=customer.subject,
            application=application,
            idempotency_key=idempotency_key,
        )
        href = f"{router.prefix}/{applied.order_id}"
        accepted = OrderAccepted(order_id=applied.order_id, status=applied.status, href=href)
        return Answer(status.HTTP_201_CREATED, accepted.model_dump(mode="json"), {"Location": href})

    return await idempotent(
        state.sessions,
        request=request,
        principal=customer,
        key=idempotency_key,
        body=application.model_dump(mode="json"),
        operation=op,
        reused_facts=lambda first: {"order_id": first["order_id"]},
    )


@router.get("", summary="My orders, newest first (ongoing, completed or canceled tab)", responses=_AUTH)
async def list_my_orders(
    customer: CustomerDep,
    reads: ReadsDep,
    cursor: CursorDep,
    state: OrderTab | None = None,
    limit: Limit = 20,
) -> OrderPage:
    async with reads.connect() as conn:
        rows, after = await repository.list_orders(
            conn,
            where=repository.OrderFilter(customer_id=customer.subject, statuses=statuses_of(state) if state else None),
            cursor=cursor,
            limit=limit,
        )
    return OrderPage(orders=[mapping.summary(row) for row in rows], next_cursor=after.encode() if after else None)


@router.get(
    "/{order_id}",
    response_model=OrderDetails,
    summary="The order-details view (R1): progress, open operations, billings, items, shipping, deadlines, "
    "the latest messages",
    responses={**_ONE_ORDER, **_DETAILS},
)
async def get_my_order(order_id: OrderId, customer: CustomerDep, state: StateDep) -> Response:
    """One read: the stored view and the thread's copy, as PostgreSQL renders them (``details.py``)."""
    body = await service.order_details(
        details=state.details,
        reads=state.reads,
        workflows=state.workflows,
        order_id=order_id,
        customer_id=customer.subject,
    )
    return Response(content=body, media_type="application/json")


@router.post(
    "/{order_id}/payments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrderView,
    summary="Pay a billing from the deposit",
    description="The deposit is asked for the charge: the billing is `charging` until the deposit answers, "
    "then `paid` (or back to `awaiting_payment` with the shortfall if the deposit is short). Send an "
    "`Idempotency-Key` and retry with it: a replay gets the first answer, the same key for another payment is a "
    "422, and a key still in flight a 409 with `Retry-After`.",
    responses={**_OPERATION, 202: _VIEW[200]},
)
async def pay_billing(
    order_id: OrderId,
    payment: Annotated[
        PayBillingRequest,
        Body(
            openapi_examples={
                "first billing": {"value": {"billing_seq": 1, "revision": 1}},
                "second billing": {"value": {"billing_seq": 2, "revision": 1}},
            }
        ),
    ],
    request: Request,
    customer: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def op(_: AsyncSession) -> Answer:
        view = await operated(state, order_id, customer.subject, "pay_billing", mapping.pay_billing(payment))
        return Answer(status.HTTP_202_ACCEPTED, view.model_dump(mode="json"))

    return await idempotent(
        state.sessions,
        request=request,
        principal=customer,
        key=idempotency_key,
        body=payment.model_dump(mode="json"),
        operation=op,
    )


@router.post(
    "/{order_id}/cancel",
    summary="Cancel the whole order (only before any payment, R4)",
    responses={**_VIEW, **_OPERATION},
)
async def cancel(
    order_id: OrderId,
    customer: CustomerDep,
    state: StateDep,
    request: Annotated[
        CustomerCancelRequest | None,
        Body(openapi_examples={"with a reason": {"value": {"reason": "Found it cheaper locally"}}}),
    ] = None,
) -> OrderView:
    return await operated(state, order_id, customer.subject, "cancel", mapping.customer_cancel(request))


@router.post(
    "/{order_id}/reception-report",
    summary="Report reception: received fine completes the order (R7); problems open a dispute (R8)",
    responses={**_VIEW, **_OPERATION},
)
async def report_reception(
    order_id: OrderId,
    report: ReceptionReportIn,
    customer: CustomerDep,
    state: StateDep,
) -> OrderView:
    return await operated(state, order_id, customer.subject, "report_reception", mapping.reception_report(report))


@router.put(
    "/{order_id}/items/{item_id}/tracking",
    summary="Forward service: add (or correct) an item's domestic tracking number, until the item arrives",
    responses={**_VIEW, **_OPERATION},
)
async def add_tracking(
    order_id: OrderId, item_id: ItemIdPath, body: AddTrackingIn, customer: CustomerDep, state: StateDep
) -> OrderView:
    return await operated(state, order_id, customer.subject, "add_tracking", mapping.add_tracking(item_id, body))
