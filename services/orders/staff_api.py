"""Staff API of the orders service: every staff operation of the workflow, and all orders.

Each staff operation X of ``workflows.operations.STAFF`` is
``POST /v1/staff/orders/{order_id}/<x-with-dashes>`` and runs the workflow's
update ``staff_X``, so staff get the outcome (or the refusal) synchronously;
the same operation is the signal ``X`` in the Temporal Web UI. The routes are
generated from that table so the API can never miss an operation.
"""

# No ``from __future__ import annotations``: the generated routes' body types are evaluated at definition.

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response

from daiko.auth import StaffDep
from daiko.openapi import problem_responses
from daiko.params import CustomerFilter, known_query_only
from services.orders import mapping, repository, service, staff_part
from services.orders.api import operated
from services.orders.deps import (
    CursorDep,
    Limit,
    OrderId,
    ReadsDep,
    SessionsDep,
    SettingsDep,
    StateDep,
)
from services.orders.reconciliation import Reconciliation, differences
from services.orders.schemas import STAFF_BODIES, OrderView, StaffOrderPage, StaffOrderView
from workflows.models import OrderStatus, ServiceType
from workflows.operations import STAFF, StaffOperation

router = APIRouter(prefix="/v1/staff/orders", tags=["orders-staff"])

_AUTH = problem_responses(401, 403, 422)
_VIEW = mapping.view_responses()
_OPERATION = {
    **_VIEW,
    **problem_responses(401, 403, 404, 409, 422, 503, s409="The order refuses the operation now; `detail` says why"),
}

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "estimate": {
        "two-time plan": {"value": {"unit_prices": {"1": 5280}, "domestic_shipping": 800, "service_fee": 500}},
        "one-time plan": {
            "value": {
                "domestic_shipping": 800,
                "service_fee": 500,
                "international_shipping": 2400,
                "extras": [{"description": "gift wrap", "amount": 300}],
            }
        },
    },
    "confirm_handling": {
        "two-time plan": {"value": {"service_fee": 500}},
        "one-time plan": {"value": {"service_fee": 500, "international_shipping": 2400}},
    },
    "cannot_handle": {"prohibited": {"value": {"reason": "lithium batteries cannot be shipped by air"}}},
    "item_purchased": {"item 1": {"value": {"item_id": "1"}}},
    "item_unavailable": {"sold out": {"value": {"item_id": "1", "reason": "sold out"}}},
    "item_arrived": {"item 1": {"value": {"item_id": "1", "domestic_tracking_number": "1234-5678-9012"}}},
    "issue_second_billing": {
        "EMS": {"value": {"international_shipping": 2400, "extras": [], "shipping_method": "EMS"}}
    },
    "ship": {"EMS": {"value": {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM123456789JP"]}}},
    "resolve_dispute": {
        "partial refund": {"value": {"refund_amount": 1500, "resolution": "one figure arrived damaged"}},
        "no refund": {"value": {"refund_amount": 0, "resolution": "damage happened after delivery"}},
    },
    "amend_items": {
        "drop item 2": {"value": {"changes": [{"item_id": "2", "quantity": 0}]}},
        "change quantity": {"value": {"changes": [{"item_id": "1", "quantity": 3, "unit_price": 3000}]}},
    },
    "cancel_order": {"customer asked": {"value": {"reason": "customer asked by message"}}},
    "move_deadline": {
        "to a date": {"value": {"deadline": "payment", "due_at": "2030-01-31T15:00:00+09:00"}},
        "by three days": {"value": {"deadline": "abandonment", "shift_by": "P3D"}},
    },
}


@router.get(
    "",
    summary="All orders, newest first, searched by order id, customer, item name, status, service or deadline",
    description="Each row carries the order's item names and its billed and paid totals. A query parameter "
    "not listed here is a 422 naming it and the valid ones, never silently ignored.",
    responses=_AUTH,
    dependencies=[Depends(known_query_only)],
)
async def list_orders(
    staff: StaffDep,
    reads: ReadsDep,
    cursor: CursorDep,
    status: Annotated[list[OrderStatus] | None, Query(description="one or more statuses")] = None,
    order_id: Annotated[
        str | None, Query(min_length=1, max_length=100, description="part of the order id, any case")
    ] = None,
    customer_id: CustomerFilter = None,
    service_type: ServiceType | None = None,
    deadline_before: Annotated[datetime | None, Query(description="next automatic deadline before this time")] = None,
    deadline_after: Annotated[datetime | None, Query(description="next automatic deadline after this time")] = None,
    item: Annotated[
        str | None, Query(min_length=1, max_length=100, description="part of an item's name, any case")
    ] = None,
    limit: Limit = 50,
) -> StaffOrderPage:
    async with reads.connect() as conn:
        rows, after = await repository.list_orders(
            conn,
            where=repository.OrderFilter(
                order_id_part=order_id,
                customer_id=customer_id,
                statuses=status,
                service_type=service_type,
                deadline_before=deadline_before,
                deadline_after=deadline_after,
                item_name=item,
            ),
            cursor=cursor,
            limit=limit,
        )
    return StaffOrderPage(
        orders=[mapping.staff_summary(row) for row in rows],
        next_cursor=after.encode() if after else None,
    )


@router.get(
    "/{order_id}",
    response_model=StaffOrderView,
    summary="Any order's details view, with the latest messages, what staff have not read and the staff part",
    responses={**mapping.details_responses(), **problem_responses(401, 403, 404, 422, 503)},
)
async def get_order(order_id: OrderId, staff: StaffDep, state: StateDep) -> Response:
    """The staff part (internal notes, rejected signals, alerts) is read from its own column, never the view."""
    body = await service.order_details(
        details=state.details, reads=state.reads, workflows=state.workflows, order_id=order_id, customer_id=None
    )
    async with state.reads.connect() as conn:
        part = await staff_part.staff_part_json(conn, order_id=order_id)
    return Response(content=mapping.with_staff_part(body, part), media_type="application/json")


def _add_operation(operation: StaffOperation) -> None:
    body_type: Any = STAFF_BODIES[operation.name]

    async def run(
        order_id: OrderId,
        request: Annotated[body_type, Body(openapi_examples=EXAMPLES.get(operation.name))],  # type: ignore[valid-type]
        staff: StaffDep,
        state: StateDep,
    ) -> OrderView:
        payload = mapping.staff_request(operation, request, actor=staff.subject)
        return await operated(state, order_id, None, operation.update, payload)

    run.__name__ = f"staff_{operation.name}"
    router.add_api_route(
        f"/{{order_id}}/{operation.name.replace('_', '-')}",
        run,
        methods=["POST"],
        summary=operation.name.replace("_", " ").capitalize(),
        description=operation.description.removeprefix("STAFF: "),
        responses=_OPERATION,
        response_model=OrderView,
    )


for _operation in STAFF.values():
    _add_operation(_operation)


reconciliation_router = APIRouter(prefix="/v1/staff/reconciliation", tags=["orders-staff"])


@reconciliation_router.get(
    "",
    summary="Orders whose paid and refunded totals disagree with what the ledger signed for them",
    responses=_AUTH,
)
async def reconcile_with_the_ledger(
    staff: StaffDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    quiet_for: Annotated[
        float | None,
        Query(ge=0, le=86_400, description="seconds an order must be quiet to be compared (default: the setting)"),
    ] = None,
) -> Reconciliation:
    grace = settings.reconciliation_grace_seconds if quiet_for is None else quiet_for
    async with sessions() as session:
        return await differences(session, timedelta(seconds=grace))
