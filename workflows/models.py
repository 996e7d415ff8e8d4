"""The order's data as pydantic models: the contract between OrderWorkflow and its callers.

Everything that crosses the workflow's boundary is here: the application that
starts an order (with the policy that fixes its deadlines for life), the staff
and customer payloads, the deposit results, the R1 view returned by the
``view`` query, and the transition the ``record_transition`` activity writes.

Money is integer yen (``Yen``): strict ints, so ``1200.0`` or ``"1200"`` in a
payload is refused rather than silently coerced. Durations are ISO-8601 in JSON
(``"P7D"``, ``"PT30S"``) and whole seconds, so tests can run a rule in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.ids import ID_MAX_LENGTH, TEXT_PATTERN, YEN_MAX, CustomerId, ItemId

Yen = Annotated[int, Field(ge=0, le=YEN_MAX, strict=True)]
"""An amount of money in Japanese yen; never a float, never negative, never beyond what JSON carries exactly."""

MAX_ORDER_TOTAL = 10_000_000
"""The default ceiling of everything one order may bill (the orders service's ``DAIKO_MAX_ORDER_TOTAL``)."""


def _whole_positive_seconds(value: timedelta) -> timedelta:
    if value <= timedelta(0) or value.microseconds:
        raise ValueError("a policy duration is a positive whole number of seconds")
    return value


Duration = Annotated[timedelta, AfterValidator(_whole_positive_seconds)]
NonEmpty = Annotated[str, Field(min_length=1, max_length=2000, pattern=TEXT_PATTERN)]
Note = Annotated[str, Field(max_length=4000, pattern=TEXT_PATTERN)]
"""Free text (a note, a reason, a comment): line breaks and tabs, no other control character (no NUL)."""
Short = Annotated[str, Field(max_length=2000, pattern=TEXT_PATTERN)]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=TEXT_PATTERN)]


class ServiceType(StrEnum):
    PURCHASE = "purchase"  # the agency buys the items in Japanese shops
    FORWARD = "forward"  # the customer buys; the agency receives and forwards abroad


class PaymentPlan(StrEnum):
    ONE_TIME = "one_time"  # a single billing with everything (R12)
    TWO_TIME = "two_time"  # 1st: items and fees; 2nd: international shipping and extras (R12)


class OrderStatus(StrEnum):
    APPLIED = "applied"
    AWAITING_PAYMENT = "awaiting_payment"
    PURCHASING = "purchasing"
    AWAITING_ARRIVAL = "awaiting_arrival"
    AT_WAREHOUSE = "at_warehouse"
    AWAITING_SECOND_PAYMENT = "awaiting_second_payment"
    PREPARING_SHIPMENT = "preparing_shipment"
    SHIPPED = "shipped"
    DISPUTED = "disputed"
    COMPLETED = "completed"
    CANCELED = "canceled"
    ABANDONED = "abandoned"
    # Never set by the workflow: the orders service marks an order halted when its workflow ended abnormally
    # (terminated, failed, timed out, canceled), so the read model stops offering operations nobody can run.
    HALTED = "halted"


CLOSED_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELED, OrderStatus.ABANDONED})


class CancelReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"  # R4
    UNAVAILABLE = "unavailable"  # inability to purchase or forward (R10)
    PAYMENT_TIMEOUT = "payment_timeout"  # R5
    ARRIVAL_TIMEOUT = "arrival_timeout"  # R6
    ESTIMATE_TIMEOUT = "estimate_timeout"  # staff never sent the estimate / handling contact in time
    STAFF = "staff"  # any other staff decision (R10)


class ItemStatus(StrEnum):
    REQUESTED = "requested"
    PURCHASED = "purchased"
    UNAVAILABLE = "unavailable"
    ARRIVED = "arrived"
    CANCELED = "canceled"  # removed by a partial cancellation (R4, amend items)
    DISCARDED = "discarded"  # at the warehouse when the order was abandoned (R11)


class BillingKind(StrEnum):
    FIRST = "first"
    SECOND = "second"
    SINGLE = "single"


class BillingStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    CHARGING = "charging"  # the deposit was asked for the charge; waiting for its answer
    PAID = "paid"
    CANCELED = "canceled"


class LineKind(StrEnum):
    ITEM = "item"
    DOMESTIC_SHIPPING = "domestic_shipping"
    SERVICE_FEE = "service_fee"
    INTERNATIONAL_SHIPPING = "international_shipping"
    EXTRA = "extra"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    REFUNDED = "refunded"
    REJECTED = "rejected"  # the deposit refused it: staff must look (history says why)


class DeadlineKind(StrEnum):
    ESTIMATE = "estimate"  # no estimate / handling contact from staff in time -> canceled
    PAYMENT = "payment"  # R5: unpaid estimate / handling contact -> canceled
    ARRIVAL = "arrival"  # R6: forward items not arrived -> canceled
    ABANDONMENT = "abandonment"  # R11: unpaid 2nd billing -> items abandoned
    COMPLETION = "completion"  # R7: no reception report -> completed


class ReceptionOutcome(StrEnum):
    RECEIVED = "received"  # everything arrived fine: the order completes (R7)
    PROBLEM = "problem"  # something is wrong: a dispute opens (R8)


class CustomerOperation(StrEnum):
    PAY_BILLING = "pay_billing"
    CANCEL = "cancel"
    REPORT_RECEPTION = "report_reception"
    # Not a button of its own: a charge is travelling, so the customer waits (and sees no pay button) meanwhile.
    PAYMENT_PROCESSING = "payment_processing"
    # A dispute is open: staff need the customer's explanation, with photos, by message (R8).
    EXPLAIN_DISPUTE = "explain_dispute"
    # Forward service: an item still has no domestic tracking number; the customer adds it (update add_tracking).
    ADD_TRACKING = "add_tracking"


# --------------------------------------------------------------------------- start of an order


class OrderPolicy(BaseModel):
    """The durations of the automatic rules, frozen into the order when it starts (docs/rules.md), and the
    bound on one workflow run's history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payment_due_after: Duration = timedelta(days=7)  # R5
    arrival_due_after: Duration = timedelta(days=30)  # R6
    completion_after: Duration = timedelta(days=50)  # R7
    abandon_after: Duration = timedelta(days=30)  # R11
    reminder_before: Duration = timedelta(days=2)  # R13
    # R14: staff send the estimate (purchase) or the handling contact (forward) within this, or the order is
    # canceled (estimate_timeout); staff are alerted this long before. Orders started before the rule have none.
    estimate_due_after: Duration = timedelta(days=14)
    estimate_alert_before: Duration = timedelta(days=2)
    # Everything the order's billings may add up to (orders started before it existed get the default).
    max_order_total: Annotated[int, Field(ge=1, le=YEN_MAX, strict=True)] = MAX_ORDER_TOTAL
    # The workflow continues as new once its run's history has this many events, or earlier when the server
    # suggests it (4 Ki events or 4 MiB by default): far below Temporal's hard limit (51,200 events), which
    # would terminate the order. Our own bound in case the server never suggests; tests set it low.
    history_events_per_run: Annotated[int, Field(ge=40, le=40_000, strict=True)] = 10_000


class DeliveryAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonEmpty
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]
    postal_code: Annotated[str, Field(max_length=20, pattern=TEXT_PATTERN)] = ""
    address_lines: Annotated[list[NonEmpty], Field(min_length=1, max_length=5)]
    phone: Annotated[str, Field(max_length=40, pattern=TEXT_PATTERN)] = ""


class ItemRequest(BaseModel):
    """One item as the customer applied for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonEmpty
    shop_or_url: Short = ""
    quantity: Annotated[int, Field(ge=1, le=10_000, strict=True)]
    unit_price_estimate: Yen = 0
    options: Short = ""
    # forward service: the shop's parcel to our warehouse
    domestic_tracking_number: (
        Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=TEXT_PATTERN)] | None
    ) = None

    @property
    def estimated_total(self) -> int:
        return self.quantity * self.unit_price_estimate


class OrderApplication(BaseModel):
    """The workflow input: what the customer applied for, and the rules the order lives by."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    customer_id: CustomerId
    service_type: ServiceType
    payment_plan: PaymentPlan
    delivery_address: DeliveryAddress
    items: Annotated[list[ItemRequest], Field(min_length=1, max_length=200)]
    customer_note: Note = ""
    policy: OrderPolicy = OrderPolicy()

    @model_validator(mode="after")
    def _within_the_order_ceiling(self) -> Self:
        """Each price fits JSON; their sum must fit the order's ceiling too (10,000 x 2**53 does not)."""
        total = sum(item.estimated_total for item in self.items)
        if total > self.policy.max_order_total:
            raise ValueError(f"the items' estimated total {total} yen is over the order's ceiling")
        return self


# --------------------------------------------------------------------------- staff payloads


StaffMessage = Annotated[str, Field(max_length=2000, pattern=TEXT_PATTERN)]


class StaffRequest(BaseModel):
    """Common to every staff operation; unknown fields are refused so a typo in the Web UI is caught.

    What staff write travels one of two ways, never both by accident: ``internal_note`` stays in the
    staff part of the order (never in the customer's view or any event), ``message_to_customer`` is
    said to the customer (the events' ``staff_message`` and the customer's history). ``note`` is the
    older name of the internal note, still accepted from Web UI users' saved payloads.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Annotated[str, Field(max_length=128)] | None = None  # the staff member's id
    note: Note = ""  # deprecated: the internal note's old name
    internal_note: Note = ""
    message_to_customer: StaffMessage = ""

    @property
    def internal_notes(self) -> str:
        """The internal note, whichever name it was sent under (both joined if both were)."""
        return "\n".join(part for part in (self.internal_note, self.note) if part)


class ExtraCharge(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: NonEmpty
    amount: Yen


class EstimateRequest(StaffRequest):
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


class ConfirmHandlingRequest(StaffRequest):
    """Forward service: the handling-availability contact, which is also the item confirmation."""

    service_fee: Yen = 0
    international_shipping: Yen | None = None
    extras: list[ExtraCharge] = []


class CannotHandleRequest(StaffRequest):
    reason: NonEmpty


class ItemPurchasedRequest(StaffRequest):
    item_id: ItemId


class ItemUnavailableRequest(StaffRequest):
    item_id: ItemId
    reason: NonEmpty


class ItemArrivedRequest(StaffRequest):
    item_id: ItemId
    domestic_tracking_number: TrackingNumber | None = None


class SecondBillingRequest(StaffRequest):
    international_shipping: Yen
    extras: list[ExtraCharge] = []
    shipping_method: Annotated[str, Field(max_length=200, pattern=TEXT_PATTERN)] | None = None


class ShipRequest(StaffRequest):
    method: NonEmpty
    carrier: NonEmpty
    tracking_numbers: Annotated[list[NonEmpty], Field(min_length=1, max_length=50)]


class ResolveDisputeRequest(StaffRequest):
    refund_amount: Yen = 0
    resolution: NonEmpty


class ItemChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: ItemId
    quantity: Annotated[int, Field(ge=0, le=10_000, strict=True)]  # 0 cancels the item
    unit_price: Yen | None = None


class AmendItemsRequest(StaffRequest):
    """Partial cancellation or quantity change (R4); fees left out keep their previous amount."""

    changes: Annotated[list[ItemChange], Field(min_length=1)]
    domestic_shipping: Yen | None = None
    service_fee: Yen | None = None
    international_shipping: Yen | None = None
    extras: list[ExtraCharge] | None = None


class StaffCancelRequest(StaffRequest):
    reason: NonEmpty


class MoveDeadlineRequest(StaffRequest):
    """Move an automatic deadline: to ``due_at``, or by ``shift_by`` (negative moves it earlier)."""

    deadline: DeadlineKind
    due_at: AwareDatetime | None = None
    shift_by: timedelta | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.due_at is None) == (self.shift_by is None):
            raise ValueError("give exactly one of due_at or shift_by")
        return self


# --------------------------------------------------------------------------- customer payloads


class PayBillingRequest(BaseModel):
    """Pay a billing from the deposit; ``revision`` (if given) must be the one the customer saw."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    billing_seq: Annotated[int, Field(ge=1, le=2, strict=True)]
    revision: Annotated[int, Field(ge=1, strict=True)] | None = None


class CustomerCancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Note = ""


class AddTrackingRequest(BaseModel):
    """Forward service: the customer gives an item's domestic tracking number after applying."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: ItemId
    domestic_tracking_number: TrackingNumber


class ReceptionReportRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: ReceptionOutcome
    comment: Note = ""


# --------------------------------------------------------------------------- deposit results


DepositEventType = Literal["deposit.charged", "deposit.charge_rejected", "deposit.refunded", "deposit.refund_rejected"]


class DepositEvent(BaseModel):
    """A deposit result relayed to the order (signal ``deposit_event``); ``event_id`` de-duplicates."""

    model_config = ConfigDict(frozen=True)

    event_id: NonEmpty
    type: DepositEventType
    order_id: NonEmpty
    billing_seq: int | None = None
    revision: int | None = None
    amount: Yen = 0
    shortfall: Yen | None = None
    refund_key: str | None = None
    # What makes a charge or refund believable: the ledger's transfer and its signature (contracts.attestation).
    transfer_id: int | None = None
    attestation: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _says_what_it_answers(self) -> Self:
        if self.type in ("deposit.refunded", "deposit.refund_rejected"):
            if not self.refund_key:
                raise ValueError(f"a {self.type} event names its refund_key")
        elif self.billing_seq is None or self.revision is None:
            raise ValueError(f"a {self.type} event names billing_seq and revision")
        return self


# --------------------------------------------------------------------------- the order, as seen (R1)


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
    seq: int  # 1 = first or single billing, 2 = second billing
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
    key: str  # refund:<order_id>:<n>, the deposit's idempotency key
    amount: Yen
    reason: str
    status: RefundStatus = RefundStatus.REQUESTED
    unbilled: bool = False  # returns a charge no billing asked for: not part of paid/refunded totals
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
    remind_at: datetime | None = None  # R13: None when the rule needs no reminder
    reminded_at: datetime | None = None
    started_at: datetime
    moved_by: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    actor: str  # customer | staff[:id] | system | deposits
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
    condition: str | None = None  # under which condition the operation stays possible (cancel: R4)
    item_id: str | None = None  # add_tracking: which item


class HaltNotice(BaseModel):
    """Why a halted order stopped and where its money stands; written by the orders service, never the workflow."""

    halted_at: datetime
    cause: str  # terminated | failed | timed_out | canceled | missing (the workflow's Temporal execution status)
    explanation: str  # what the customer reads: what happened and what the agency does about it
    held: Yen  # paid and not refunded when it halted: what staff give back when they settle it
    settled_at: datetime | None = None
    settlement: str | None = None  # e.g. "refunded 1200 yen to the deposit"


class OrderFacts(BaseModel):
    """What the order knows; both the workflow state and the view build on it."""

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
    # The shipping method as last chosen (2nd billing, then the shipment itself); None until staff choose one.
    shipping_method: str | None = None
    dispute: Dispute | None = None
    deadlines: list[Deadline] = []
    history: list[HistoryEntry] = []
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    version: int = 0


class OrderView(OrderFacts):
    """The R1 order-details view (query ``view``, and the read model's JSON)."""

    pending_operations: list[PendingOperation] = []
    paid_total: Yen = 0
    refunded_total: Yen = 0
    next_deadline: datetime | None = None
    halted: HaltNotice | None = None  # only on a halted order (status ``halted``)


# --------------------------------------------------------------------------- the staff part (never the customer's)


class InternalNote(BaseModel):
    """What a staff member noted for colleagues with an operation; customers never see it."""

    at: datetime
    actor: str
    operation: str
    note: str


class RejectedSignal(BaseModel):
    """A signal the order did not act on (malformed, refused, too large, unknown, not the ledger's)."""

    at: datetime
    actor: str
    signal: str
    refusal: str
    detail: str


class StaffAlertEntry(BaseModel):
    """An alert raised for staff before a rule acts on its own (``order.staff_alert``)."""

    at: datetime
    alert: str
    due_at: datetime
    consequence: str


class StaffPart(BaseModel):
    """The part of an order only staff see: kept apart from the R1 view, which is served to the customer
    as it is stored (the read model's ``staff_view`` column, the staff API's ``staff``)."""

    internal_notes: list[InternalNote] = []
    rejected_signals: list[RejectedSignal] = []
    rejected_signals_not_listed: int = 0  # older rejections dropped to keep the list bounded
    alerts: list[StaffAlertEntry] = []


# --------------------------------------------------------------------------- what a transition writes


class OutgoingMessage(BaseModel):
    """One Kafka message for the outbox; ``event_id`` is deterministic (``workflow.uuid4()``)."""

    topic: str
    key: str
    event_id: str
    type: str
    data: dict[str, Any]
    time: datetime


class OrderTransition(BaseModel):
    """One state change: the read-model snapshot (version-guarded) and its outgoing messages."""

    order_id: str
    customer_id: str
    version: int
    view: OrderView
    staff: StaffPart = StaffPart()  # never inside ``view``: the customer is served ``view`` as stored
    messages: list[OutgoingMessage] = []
    # The W3C trace context of what caused it (workflows/trace_context.py): the activity continues that trace.
    trace_context: dict[str, str] = {}
