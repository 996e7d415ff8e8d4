"""The one place where the orders HTTP API meets the order workflow: HTTP bodies in, the workflow's view out.

:mod:`services.orders.schemas` declares what clients send and read;
:mod:`workflows.models` declares what the workflow takes and keeps, under the
constraint that running orders replay. Each function here converts one of them
into the other, so a change on one side (a field renamed, added or dropped)
is absorbed here instead of travelling to the other side. The routes and use
cases never build a workflow model from an HTTP one themselves.

Converting goes through the fields' values (``model_dump``/``model_validate``),
which is enough while the two sides have the same fields; a rename goes into
the function of its model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from services.orders import schemas as http
from workflows import models as wf
from workflows.operations import StaffOperation

# --------------------------------------------------------------------------- HTTP bodies -> workflow payloads


def application(
    body: http.ApplicationIn, *, order_id: str, customer_id: str, policy: wf.OrderPolicy | None = None
) -> wf.OrderApplication:
    """The application the workflow starts with; the customer and the policy are the service's, never the body's."""
    return wf.OrderApplication(
        order_id=order_id,
        customer_id=customer_id,
        service_type=body.service_type,
        payment_plan=body.payment_plan,
        delivery_address=wf.DeliveryAddress.model_validate(body.delivery_address.model_dump()),
        items=[wf.ItemRequest.model_validate(item.model_dump()) for item in body.items],
        customer_note=body.customer_note,
        **({"policy": policy} if policy is not None else {}),
    )


def pay_billing(body: http.PayBillingRequest) -> wf.PayBillingRequest:
    return wf.PayBillingRequest(billing_seq=body.billing_seq, revision=body.revision)


def customer_cancel(body: http.CustomerCancelRequest | None) -> wf.CustomerCancelRequest:
    return wf.CustomerCancelRequest(reason=body.reason) if body is not None else wf.CustomerCancelRequest()


def reception_report(body: http.ReceptionReportIn) -> wf.ReceptionReportRequest:
    """Received fine (R7) or what is wrong (R8), as the workflow's one outcome field."""
    if body.problems is not None:
        return wf.ReceptionReportRequest(outcome=wf.ReceptionOutcome.PROBLEM, comment=body.problems)
    return wf.ReceptionReportRequest(outcome=wf.ReceptionOutcome.RECEIVED, comment=body.comment)


def add_tracking(item_id: str, body: http.AddTrackingIn) -> wf.AddTrackingRequest:
    return wf.AddTrackingRequest(item_id=item_id, domestic_tracking_number=body.domestic_tracking_number)


def staff_request(operation: StaffOperation, body: http.StaffBody, *, actor: str) -> wf.StaffRequest:
    """The workflow's payload of a staff operation, its ``actor`` the authenticated subject."""
    return operation.request.model_validate({**body.model_dump(), "actor": actor})


# --------------------------------------------------------------------------- the workflow's view -> HTTP


def view(order: wf.OrderView) -> http.OrderView:
    return http.OrderView.model_validate(order.model_dump())


def view_json(stored: str | bytes) -> str:
    """The HTTP view of a view as the read model and the workflow's query keep it (the workflow's JSON).

    The hot read path (``GET /v1/orders/{id}``), so while both sides have the
    same fields the HTTP model reads the workflow's JSON in one pass (about half
    the time of parsing into the workflow's model and converting); a rename on
    either side goes here, as in :func:`view`.
    """
    return http.OrderView.model_validate_json(stored).model_dump_json()


def staff_view_json(stored: str | bytes, staff: str | bytes | None) -> str:
    """The staff's view: the customer's view with the staff part (the read model keeps it in its own column)."""
    view = http.OrderView.model_validate_json(stored)
    part = http.StaffPart.model_validate_json(staff) if staff else http.StaffPart()
    return http.StaffOrderView.model_validate({**view.model_dump(), "staff": part}).model_dump_json()


def pending_operations(stored: list[dict[str, Any]] | None) -> list[http.PendingOperation]:
    """The green buttons of a list row, read from the read model's copy of the workflow's view."""
    return [
        http.PendingOperation.model_validate(wf.PendingOperation.model_validate(item).model_dump())
        for item in stored or []
    ]


def summary(row: dict[str, Any]) -> http.OrderSummary:
    return http.OrderSummary.model_validate(
        {**row, "pending_operations": pending_operations(row["pending_operations"])}
    )


def staff_summary(row: dict[str, Any]) -> http.StaffOrderSummary:
    return http.StaffOrderSummary.model_validate(
        {**row, "pending_operations": pending_operations(row["pending_operations"])}
    )


# --------------------------------------------------------------------------- the documented example


@lru_cache
def order_view_example() -> dict[str, Any]:
    """A real R1 view for the OpenAPI docs, made by the workflow's own rules so it can never drift."""
    from workflows.order_state import Order
    from workflows.rules import billing

    applied_at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    body = http.ApplicationIn.model_validate(http.PURCHASE_EXAMPLE)
    order = Order.open(application(body, order_id="P261126-7KQ2M9XA", customer_id="cust-42"), applied_at)
    billing.estimate(order, wf.EstimateRequest(domestic_shipping=800, service_fee=500), applied_at, "staff:s-7")
    example: dict[str, Any] = view(order.view()).model_dump(mode="json")
    return example


def view_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 response of every route answering with the order view, with its example."""
    return {200: {"content": {"application/json": {"example": order_view_example()}}}}
