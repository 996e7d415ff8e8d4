"""Request and response bodies of the orders HTTP API: its own models, not the workflow's.

The API and the order workflow (``workflows.models``) change for different
reasons: the API for its clients, the workflow under the constraint that its
running orders replay. So the HTTP bodies are declared here, and
:mod:`services.orders.mapping` is the one place that turns them into the
workflow's payloads and the workflow's view into the HTTP view. The classes
keep the names the OpenAPI document has always given them (``OrderView``,
``EstimateRequest``, ...), which a generated client uses as type names.

Only the workflow's enumerations (statuses, kinds, operations) are shared:
they are the order's vocabulary, the same on Kafka and in the read model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Self

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.ids import ID_MAX_LENGTH, TEXT_PATTERN, YEN_MAX, ItemId
from workflows.models import (
    BillingKind,
    BillingStatus,
    CancelReason,
    CustomerOperation,
    DeadlineKind,
    ItemStatus,
    LineKind,
    OrderStatus,
    PaymentPlan,
    RefundStatus,
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
PURCHASE_EXAMPLE: dict[str, Any] = {
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


class ApplicationIn(BaseModel):
    """An application for the purchase or the forward service (``POST /v1/orders``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PURCHASE_EXAMPLE, _FORWARD_EXAMPLE]})

    service_type: ServiceType
    payment_plan: PaymentPlan
    delivery_address: DeliveryAddressIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    customer_note: Annotated[str, Field(max_length=4000)] = ""

    @field_validator("items")
    @classmethod
    def _tracking_number_fits_service(cls, items: list[ItemIn], info: ValidationInfo) -> list[ItemIn]:
        """Purchase items are not bought yet; a forward item's number may come later (``.../tracking``)."""
        service = info.data.get("service_type")
        for number, item in enumerate(items, start=1):
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


# --------------------------------------------------------------------------- shared field types

Yen = Annotated[int, Field(ge=0, le=YEN_MAX, strict=True)]
"""Integer yen: ``1200.0`` or ``"1200"`` is a 422, never coerced."""
Note = Annotated[str, Field(max_length=4000, pattern=TEXT_PATTERN)]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=TEXT_PATTERN)]


# --------------------------------------------------------------------------- customer operations


class PayBillingRequest(BaseModel):
    """Pay a billing from the deposit; ``revision`` (if given) must be the one the customer saw."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    billing_seq: Annotated[int, Field(ge=1, le=2, strict=True)]
    revision: Annotated[int, Field(ge=1, strict=True)] | None = None


class CustomerCancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Note = ""


# --------------------------------------------------------------------------- staff operations


class StaffBody(BaseModel):
    """Common to every staff operation's body. There is no ``actor``: who did it is the token's subject.

    A body naming an ``actor`` is a 422 like any unknown field (``"actor":"the-ceo"``
    forged the audit trail once); the mapping adds the authenticated subject.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    internal_note: Annotated[
        Note, Field(description="for staff only: kept in the staff part of the order, never shown to the customer")
    ] = ""
    message_to_customer: Annotated[
        str,
        Field(
            max_length=2000,
            pattern=TEXT_PATTERN,
            description="said to the customer with this operation: in the notice and the customer's history",
        ),
    ] = ""
    note: Annotated[Note, Field(description="deprecated: the internal note's former name, still taken as one")] = ""


class ExtraCharge(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: Text
    amount: Yen


class EstimateRequest(StaffBody):
    """Estimate (or re-estimate) the first billing, or the single one on the one-time plan.

    Purchase: item lines come from each item's quantity and unit price
    (``unit_prices`` overrides the customer's estimate, by item id).
    ``international_shipping`` belongs to the single billing of the one-time plan.
    """

    unit_prices: dict[ItemId, Yen] = {}
    domestic_shipping: Yen = 0
    service_fee: Yen = 0
    international_shipping: Yen | None = None
    extras: list[ExtraCharge] = []


class ConfirmHandlingRequest(StaffBody):
    """Forward service: the handling-availability contact, which is also the item confirmation."""

    service_fee: Yen = 0
    international_shipping: Yen | None = None
    extras: list[ExtraCharge] = []


class CannotHandleRequest(StaffBody):
    reason: Text


class ItemPurchasedRequest(StaffBody):
    item_id: ItemId


class ItemUnavailableRequest(StaffBody):
    item_id: ItemId
    reason: Text


class ItemArrivedRequest(StaffBody):
    item_id: ItemId
    domestic_tracking_number: TrackingNumber | None = None


class SecondBillingRequest(StaffBody):
    international_shipping: Yen
    extras: list[ExtraCharge] = []
    shipping_method: Annotated[str, Field(max_length=200, pattern=TEXT_PATTERN)] | None = None


class ShipRequest(StaffBody):
    method: Text
    carrier: Text
    tracking_numbers: Annotated[list[Text], Field(min_length=1, max_length=50)]


class ResolveDisputeRequest(StaffBody):
    refund_amount: Yen = 0
    resolution: Text


class ItemChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: ItemId
    quantity: Annotated[int, Field(ge=0, le=10_000, strict=True)]  # 0 cancels the item
    unit_price: Yen | None = None


class AmendItemsRequest(StaffBody):
    """Partial cancellation or quantity change (R4); fees left out keep their previous amount."""

    changes: Annotated[list[ItemChange], Field(min_length=1)]
    domestic_shipping: Yen | None = None
    service_fee: Yen | None = None
    international_shipping: Yen | None = None
    extras: list[ExtraCharge] | None = None


class StaffCancelRequest(StaffBody):
    reason: Text


class MoveDeadlineRequest(StaffBody):
    """Move an automatic deadline: to ``due_at``, or by ``shift_by`` (negative moves it earlier)."""

    deadline: DeadlineKind
    due_at: AwareDatetime | None = None
    shift_by: timedelta | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.due_at is None) == (self.shift_by is None):
            raise ValueError("give exactly one of due_at or shift_by")
        return self


STAFF_BODIES: dict[str, type[StaffBody]] = {
    "estimate": EstimateRequest,
    "confirm_handling": ConfirmHandlingRequest,
    "cannot_handle": CannotHandleRequest,
    "item_purchased": ItemPurchasedRequest,
    "item_unavailable": ItemUnavailableRequest,
    "item_arrived": ItemArrivedRequest,
    "issue_second_billing": SecondBillingRequest,
    "ship": ShipRequest,
    "resolve_dispute": ResolveDisputeRequest,
    "amend_items": AmendItemsRequest,
    "cancel_order": StaffCancelRequest,
    "move_deadline": MoveDeadlineRequest,
}
"""The HTTP body of each staff operation (``workflows.operations.STAFF`` names them; a test checks both agree)."""


# --------------------------------------------------------------------------- the order, as the API shows it (R1)


class DeliveryAddress(BaseModel):
    # An answer, not a body: a field the workflow adds is dropped, never a 500; the schema lists all there is.
    model_config = ConfigDict(frozen=True, json_schema_extra={"additionalProperties": False})

    name: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]
    postal_code: Annotated[str, Field(max_length=20, pattern=TEXT_PATTERN)] = ""
    address_lines: Annotated[list[Text], Field(min_length=1, max_length=5)]
    phone: Annotated[str, Field(max_length=40, pattern=TEXT_PATTERN)] = ""


class OrderPolicy(BaseModel):
    """The durations of the automatic rules, frozen into the order when it starts (docs/rules.md), and the
    bound on one workflow run's history."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"additionalProperties": False})

    payment_due_after: timedelta = timedelta(days=7)  # R5
    arrival_due_after: timedelta = timedelta(days=30)  # R6
    completion_after: timedelta = timedelta(days=50)  # R7
    abandon_after: timedelta = timedelta(days=30)  # R11
    reminder_before: timedelta = timedelta(days=2)  # R13
    estimate_due_after: timedelta = timedelta(days=14)  # R14
    estimate_alert_before: timedelta = timedelta(days=2)  # R14
    max_order_total: Annotated[int, Field(ge=1, le=YEN_MAX, strict=True)] = 10_000_000
    history_events_per_run: Annotated[int, Field(ge=40, le=40_000, strict=True)] = 10_000


class Item(BaseModel):
    item_id: str
    name: str
    shop_or_url: str = ""
    quantity: int
    unit_price: Yen
    options: str = ""
    domestic_tracking_number: str | None = None
    status: ItemStatus = ItemStatus.REQUESTED
    note: str = ""


class BillingLine(BaseModel):
    kind: LineKind
    description: str
    amount: Yen
    item_id: str | None = None


class ChargeRejection(BaseModel):
    at: datetime
    shortfall: Yen | None = None


class Billing(BaseModel):
    seq: int
    kind: BillingKind
    revision: int
    lines: list[BillingLine]
    total: Yen
    status: BillingStatus = BillingStatus.AWAITING_PAYMENT
    issued_at: datetime
    paid_at: datetime | None = None
    paid_amount: Yen | None = None
    last_rejection: ChargeRejection | None = None


class Refund(BaseModel):
    key: str
    amount: Yen
    reason: str
    status: RefundStatus = RefundStatus.REQUESTED
    unbilled: bool = False
    requested_at: datetime
    refunded_at: datetime | None = None


class Shipment(BaseModel):
    method: str
    carrier: str
    tracking_numbers: list[str]
    shipped_at: datetime


class Dispute(BaseModel):
    opened_at: datetime
    description: str = ""
    resolved_at: datetime | None = None
    refund_amount: Yen | None = None
    resolution: str | None = None


class Deadline(BaseModel):
    """An automatic rule's durable timer; staff can move it (``move_deadline``)."""

    kind: DeadlineKind
    rule: str
    due_at: datetime
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    started_at: datetime
    moved_by: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: str = ""


class PendingOperation(BaseModel):
    """A green button (R2): what the customer must or may do now, with what it needs."""

    operation: CustomerOperation
    description: str
    billing_seq: int | None = None
    revision: int | None = None
    amount: Yen | None = None
    due_at: datetime | None = None
    shortfall: Yen | None = None
    condition: str | None = None
    item_id: str | None = None


class HaltNotice(BaseModel):
    """Why a halted order stopped and where its money stands; written by the orders service, never the workflow."""

    halted_at: datetime
    cause: str
    explanation: str
    held: Yen
    settled_at: datetime | None = None
    settlement: str | None = None


class OrderView(BaseModel):
    """The R1 order-details view (query ``view``, and the read model's JSON)."""

    order_id: str
    customer_id: str
    service_type: ServiceType
    payment_plan: PaymentPlan
    delivery_address: DeliveryAddress
    customer_note: str = ""
    policy: OrderPolicy
    status: OrderStatus
    cancel_reason: CancelReason | None = None
    items: list[Item]
    billings: list[Billing] = []
    refunds: list[Refund] = []
    shipment: Shipment | None = None
    shipping_method: str | None = None
    dispute: Dispute | None = None
    deadlines: list[Deadline] = []
    history: list[HistoryEntry] = []
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    version: int = 0
    pending_operations: list[PendingOperation] = []
    paid_total: Yen = 0
    refunded_total: Yen = 0
    next_deadline: datetime | None = None
    halted: HaltNotice | None = None


class MessagePreview(BaseModel):
    """One message of the order's thread as the order-details view shows it (the whole thread: ``href``)."""

    message_id: str
    seq: int | None = Field(description="Its place in the thread (1, 2, ...); read cursors count in it")
    author_role: str = Field(description="customer, staff or system")
    kind: str = Field(description="message, or notice (a system notice about an order event)")
    notice_type: str | None = None
    body: str
    attachment_count: int
    posted_at: datetime


class ThreadSummary(BaseModel):
    """The message history section of the order-details view (R1), from the orders' copy of the thread."""

    latest: list[MessagePreview] = Field(description="The latest messages, newest first (at most 5)")
    count: int = Field(description="Messages in the thread")
    unread_count: int = Field(
        description="Messages the reader has not read: for a customer, staff messages and notices; for staff, "
        "the customer's messages"
    )
    href: str = Field(description="The whole thread, in the messaging API")


class OrderDetails(OrderView):
    """The order-details answer (R1): the order view the workflow stored, and its message history.

    Served as the workflow stored the view: fields the workflow adds appear here as it adds them.
    """

    messages: ThreadSummary


class InternalNote(BaseModel):
    at: datetime
    actor: str
    operation: str
    note: str


class RejectedSignal(BaseModel):
    at: datetime
    actor: str
    signal: str
    refusal: str
    detail: str


class StaffAlert(BaseModel):
    at: datetime
    alert: str
    due_at: datetime
    consequence: str


class StaffPart(BaseModel):
    """What only staff see of an order: kept apart from the customer's view, never inside it."""

    internal_notes: list[InternalNote] = []
    rejected_signals: list[RejectedSignal] = []
    rejected_signals_not_listed: int = 0
    alerts: list[StaffAlert] = []


class StaffOrderView(OrderDetails):
    """The order-details answer as staff see it: the customer's details plus the staff part."""

    staff: StaffPart = StaffPart()


class AddTrackingIn(BaseModel):
    """Forward service: the domestic tracking number of an item, given after applying (until it arrives)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"examples": [{"domestic_tracking_number": "1234-5678-9012"}]}
    )

    domestic_tracking_number: TrackingNumber


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
    item_names: list[str] = Field(description="What the customer asked for, item by item")
    billed_total: Yen = Field(description="Every billing not canceled, in yen (each at its current revision)")
    paid_total: Yen = Field(description="What the customer paid for the order, in yen")


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
                {
                    "orders": [
                        {
                            **_SUMMARY_EXAMPLE,
                            "customer_id": "cust-42",
                            "version": 2,
                            "item_names": ["Gundam RX-78-2 MG"],
                            "billed_total": 11860,
                            "paid_total": 0,
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    orders: list[StaffOrderSummary]
    next_cursor: str | None = None
