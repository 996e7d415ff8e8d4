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

import json
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


def with_staff_part(details: bytes, staff: str | None) -> bytes:
    """The staff's order details: the details answer with the staff part (the read model keeps it in its own column).

    Off the customer's hot path, so it may parse: the part is validated as the staff API documents it.
    """
    part = http.StaffPart.model_validate_json(staff) if staff else http.StaffPart()
    answer = json.loads(details)
    answer["staff"] = part.model_dump(mode="json")
    return json.dumps(answer, separators=(",", ":")).encode()


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


def details_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 response of the order-details routes: the view with its message history, as an example."""
    thread = {
        "latest": [
            {
                "message_id": "0b6c1f9e-3c1d-4a8e-9a51-2f1f3f8c9d10",
                "seq": 2,
                "author_role": "system",
                "kind": "notice",
                "notice_type": "order.estimated",
                "body": "Your estimate is ready: 11,860 yen to pay by 3 Dec.",
                "attachment_count": 0,
                "posted_at": "2026-11-26T10:05:00.000000Z",
            }
        ],
        "count": 2,
        "unread_count": 1,
        "href": "/v1/orders/P261126-7KQ2M9XA/messages",
    }
    example = {**order_view_example(), "messages": thread}
    return {200: {"content": {"application/json": {"example": example}}}}
