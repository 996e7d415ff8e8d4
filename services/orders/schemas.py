"""Request and response bodies of the orders API that are not the workflow's own models.

Operation payloads the workflow defines (pay a billing, staff operations) are
used as they are, so the HTTP API and the Temporal Web UI accept exactly the
same JSON; this module adds what only HTTP has: the application form, the
reception-report form, list pages, and the answer to an application.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Self

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.ids import TEXT_PATTERN, YEN_MAX
from workflows.models import (
    DeliveryAddress,
    ItemRequest,
    OrderStatus,
    PaymentPlan,
    PendingOperation,
    ReceptionOutcome,
    ReceptionReportRequest,
    ServiceType,
)

MAX_ITEMS = 50

Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=TEXT_PATTERN)]


def iso_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country given by its alpha-2 or alpha-3 code or its name (pycountry)."""
    try:
        country = pycountry.countries.lookup(value.strip())
    except LookupError:
        raise ValueError(f"{value!r} is not an ISO 3166-1 country (give its code, e.g. FR or FRA)") from None
    code: str = country.alpha_2
    return code


Country = Annotated[
    str,
    Field(
        min_length=2,
        max_length=56,
        description="ISO 3166-1 country: alpha-2 or alpha-3 code, or English name; stored as its alpha-2 code",
    ),
    AfterValidator(iso_country),
]

_ADDRESS_EXAMPLE: dict[str, Any] = {
    "name": "Alex Martin",
    "country": "FR",
    "postal_code": "75011",
    "address_lines": ["12 rue Oberkampf", "Bâtiment B, 3e étage"],
    "phone": "+33 6 12 34 56 78",
}
_PURCHASE_EXAMPLE: dict[str, Any] = {
    "service_type": "purchase",
    "payment_plan": "two_time",
    "delivery_address": _ADDRESS_EXAMPLE,
    "items": [
        {
            "name": "Gundam RX-78-2 Ver. Ka, MG 1/100",
            "shop_or_url": "https://www.amiami.example/item/123456",
            "quantity": 2,
            "unit_price_estimate": 5280,
            "options": "boxed, no shrink wrap damage",
        }
    ],
    "customer_note": "Please combine with my other order if possible.",
}
_FORWARD_EXAMPLE: dict[str, Any] = {
    "service_type": "forward",
    "payment_plan": "one_time",
    "delivery_address": _ADDRESS_EXAMPLE,
    "items": [
        {
            "name": "Kitchen knife set",
            "shop_or_url": "Rakuten: Kama-Asa shop",
            "quantity": 1,
            "unit_price_estimate": 18700,
            "domestic_tracking_number": "1234-5678-9012",
        }
    ],
}


class DeliveryAddressIn(BaseModel):
    """Where the parcel goes abroad; carriers need a phone number for customs and delivery."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ADDRESS_EXAMPLE]})

    name: Annotated[str, Field(min_length=1, max_length=200)]
    country: Country
    postal_code: Annotated[str, Field(max_length=20, description="empty where the country has none")] = ""
    address_lines: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=5)
    ]
    phone: Annotated[str, Field(min_length=4, max_length=40, pattern=r"^\+?[0-9][0-9 ()./-]{2,}$")]

    def to_workflow(self) -> DeliveryAddress:
        return DeliveryAddress.model_validate(self.model_dump())


class ItemIn(BaseModel):
    """One item of the application: where to buy it (purchase) or where it was bought (forward)."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    shop_or_url: Annotated[str, Field(min_length=1, max_length=2000, description="shop name or product URL")]
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    unit_price_estimate: Annotated[
        StrictInt, Field(ge=0, le=YEN_MAX, description="yen, tax included, as seen in the shop")
    ]
    options: Annotated[str, Field(max_length=2000, description="colour, size, condition...")] = ""
    domestic_tracking_number: Annotated[
        str | None, Field(min_length=1, max_length=100, description="forward service: the parcel to our warehouse")
    ] = None

    def to_workflow(self) -> ItemRequest:
        return ItemRequest.model_validate(self.model_dump())


class ApplicationIn(BaseModel):
    """An application for the purchase or the forward service (``POST /v1/orders``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PURCHASE_EXAMPLE, _FORWARD_EXAMPLE]})

    service_type: ServiceType
    payment_plan: PaymentPlan
    delivery_address: DeliveryAddressIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    customer_note: Annotated[str, Field(max_length=4000)] = ""

    @field_validator("items")
    @classmethod
    def _tracking_number_fits_service(cls, items: list[ItemIn], info: ValidationInfo) -> list[ItemIn]:
        """Forward items are already on their way to us; purchase items are not bought yet."""
        service = info.data.get("service_type")
        for number, item in enumerate(items, start=1):
            if service is ServiceType.FORWARD and not item.domestic_tracking_number:
                raise ValueError(f"item {number}: a forward item needs its domestic_tracking_number")
            if service is ServiceType.PURCHASE and item.domestic_tracking_number:
                raise ValueError(f"item {number}: a purchase item has no domestic_tracking_number yet")
        return items


class OrderAccepted(BaseModel):
    """The application is accepted and its order has started."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"order_id": "P261126-7KQ2M9XA", "status": "applied", "href": "/v1/orders/P261126-7KQ2M9XA"}]
        }
    )

    order_id: str
    status: OrderStatus
    href: str


class ReceptionReportIn(BaseModel):
    """The customer's reception report: everything arrived fine (R7), or what is wrong (R8)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"received_fine": True},
                {"problems": "The figure's left arm is broken; photos follow by message."},
            ]
        },
    )

    received_fine: StrictBool | None = None
    problems: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    comment: Annotated[str, Field(max_length=4000)] = ""

    @model_validator(mode="after")
    def _one_outcome(self) -> Self:
        if (self.received_fine is True) == (self.problems is not None):
            raise ValueError('send either {"received_fine": true} or {"problems": "what is wrong"}')
        return self

    def to_workflow(self) -> ReceptionReportRequest:
        if self.problems is not None:
            return ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM, comment=self.problems)
        return ReceptionReportRequest(outcome=ReceptionOutcome.RECEIVED, comment=self.comment)


class OrderSummary(BaseModel):
    """One row of an order list: enough for the tabs and the green-button badges."""

    order_id: str
    status: OrderStatus
    service_type: ServiceType
    payment_plan: PaymentPlan
    item_count: int
    pending_operations: list[PendingOperation]
    next_deadline: datetime | None
    created_at: datetime
    updated_at: datetime


class StaffOrderSummary(OrderSummary):
    customer_id: str
    version: int


_SUMMARY_EXAMPLE: dict[str, Any] = {
    "order_id": "P261126-7KQ2M9XA",
    "status": "awaiting_payment",
    "service_type": "purchase",
    "payment_plan": "two_time",
    "item_count": 1,
    "pending_operations": [
        {
            "operation": "pay_billing",
            "description": "Pay billing 1 from your deposit",
            "billing_seq": 1,
            "revision": 1,
            "amount": 11860,
            "due_at": "2026-12-03T10:00:00Z",
        },
        {"operation": "cancel", "description": "Cancel the whole order (R4)"},
    ],
    "next_deadline": "2026-12-03T10:00:00Z",
    "created_at": "2026-11-26T10:00:00Z",
    "updated_at": "2026-11-26T10:05:00Z",
}


class OrderPage(BaseModel):
    """A page of orders, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"orders": [_SUMMARY_EXAMPLE], "next_cursor": "eyJjIjoiMjAyNi0xMS0yNlQxMDo"}]}
    )

    orders: list[OrderSummary]
    next_cursor: str | None = None


class StaffOrderPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"orders": [{**_SUMMARY_EXAMPLE, "customer_id": "cust-42", "version": 2}], "next_cursor": None}
            ]
        }
    )

    orders: list[StaffOrderSummary]
    next_cursor: str | None = None


@lru_cache
def order_view_example() -> dict[str, Any]:
    """A real R1 view for the OpenAPI docs, made by the workflow's own rules so it can never drift."""
    from workflows.models import EstimateRequest, OrderApplication
    from workflows.order_state import Order
    from workflows.rules import billing

    applied_at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    application = ApplicationIn.model_validate(_PURCHASE_EXAMPLE)
    order = Order.open(
        OrderApplication(
            order_id="P261126-7KQ2M9XA",
            customer_id="cust-42",
            service_type=application.service_type,
            payment_plan=application.payment_plan,
            delivery_address=application.delivery_address.to_workflow(),
            items=[item.to_workflow() for item in application.items],
            customer_note=application.customer_note,
        ),
        applied_at,
    )
    billing.estimate(order, EstimateRequest(domestic_shipping=800, service_fee=500), applied_at, "staff:s-7")
    example: dict[str, Any] = order.view().model_dump(mode="json")
    return example


def view_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 response of every route answering with the order view, with its example."""
    return {200: {"content": {"application/json": {"example": order_view_example()}}}}
