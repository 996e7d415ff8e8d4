"""The state of one order and the small moves every rule is made of.

``Order`` is plain data plus helpers; it does no I/O and never reads a clock
(``now`` is always passed in), so the workflow stays deterministic and the rules
can be tested without Temporal. A rule changes a *draft* copy of the order and
the workflow keeps the draft only if the rule did not refuse: an operation is
all-or-nothing. What a rule wants to tell the world (order events, deposit
commands) accumulates in ``effects``; the workflow turns those into outbox
messages with deterministic ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from contracts import orders as events
from contracts.deposits import ChargeRequested, RefundRequested
from contracts.keys import ChargeKey, RefundKey
from contracts.topics import DEPOSITS_COMMANDS, ORDERS_EVENTS
from workflows.models import (
    CLOSED_STATUSES,
    Billing,
    BillingStatus,
    CancelReason,
    CustomerOperation,
    Deadline,
    DeadlineKind,
    HistoryEntry,
    InternalNote,
    Item,
    ItemStatus,
    OrderApplication,
    OrderFacts,
    OrderStatus,
    OrderView,
    PendingOperation,
    Refund,
    RefundStatus,
    RejectedSignal,
    ServiceType,
    StaffAlertEntry,
    StaffPart,
)
from workflows.refusals import Refusal, refuse

RULE_OF_DEADLINE = {
    DeadlineKind.ESTIMATE: "R14",
    DeadlineKind.PAYMENT: "R5",
    DeadlineKind.ARRIVAL: "R6",
    DeadlineKind.COMPLETION: "R7",
    DeadlineKind.ABANDONMENT: "R11",
}


def iso(moment: datetime | None) -> str | None:
    """Times inside event data travel as ISO-8601 strings (JSON-safe, same on both sides)."""
    return moment.isoformat() if moment else None


class EventHead(TypedDict):
    """The fields every order event starts with, as of the moment it is raised."""

    order_id: str
    customer_id: str
    status: str


def billing_snapshot(billing: Billing) -> events.Billing:
    """A billing as order events carry it: the read model's JSON form, checked by the contract."""
    return events.Billing.model_validate(billing.model_dump(mode="json"))


class Effect(BaseModel):
    """A message a rule wants sent (its data already checked by its contract); the workflow adds id and time."""

    topic: str
    key: str
    type: str
    data: dict[str, Any]


SIGNAL_REJECTED = "signal rejected"
"""The history action of a signal the order did not act on (malformed, refused, too large, not the ledger's)."""


class Order(OrderFacts):
    """One order's state inside the workflow."""

    seen_deposit_events: list[str] = []
    # Rejected signals dropped from ``history`` to keep it bounded (orders from before the staff part).
    rejected_signals_not_listed: int = 0
    # What only staff see (internal notes, rejected signals, alerts): never part of ``view()``.
    staff: StaffPart = StaffPart()
    effects: list[Effect] = Field(default_factory=list, exclude=True)
    # Set when the staff part changed: a transition is published for it even if the customer's view did not.
    staff_changed: bool = Field(default=False, exclude=True)

    @classmethod
    def open(cls, application: OrderApplication, now: datetime) -> Order:
        """The order as applied for: every item requested, nothing billed yet."""
        items = [
            Item(
                item_id=str(number),
                name=item.name,
                shop_or_url=item.shop_or_url,
                quantity=item.quantity,
                unit_price=item.unit_price_estimate,
                options=item.options,
                domestic_tracking_number=item.domestic_tracking_number,
            )
            for number, item in enumerate(application.items, start=1)
        ]
        order = cls(
            order_id=application.order_id,
            customer_id=application.customer_id,
            service_type=application.service_type,
            payment_plan=application.payment_plan,
            delivery_address=application.delivery_address,
            customer_note=application.customer_note,
            policy=application.policy,
            status=OrderStatus.APPLIED,
            items=items,
            created_at=now,
            updated_at=now,
        )
        order.record(now, "customer", "applied", f"{len(items)} item(s), {application.payment_plan.value} payment")
        order.emit(
            events.OrderApplied(
                **order.head(),
                items=len(items),
                payment_plan=application.payment_plan.value,
                service_type=application.service_type.value,
            )
        )
        return order

    # ------------------------------------------------------------------ reading

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def settled(self) -> bool:
        """Closed, and no money still travelling: the workflow may end."""
        return (
            self.closed
            and not self.charge_in_flight
            and all(refund.status is not RefundStatus.REQUESTED for refund in self.refunds)
        )

    @property
    def live_items(self) -> list[Item]:
        """Items still part of the order (not unavailable, not canceled)."""
        return [i for i in self.items if i.status not in (ItemStatus.UNAVAILABLE, ItemStatus.CANCELED)]

    @property
    def paid_total(self) -> int:
        return sum(b.paid_amount or 0 for b in self.billings if b.status is BillingStatus.PAID)

    @property
    def refunded_total(self) -> int:
        """Refunds requested or done: money the order no longer holds."""
        return sum(r.amount for r in self.refunds if r.status is not RefundStatus.REJECTED and not r.unbilled)

    @property
    def refundable(self) -> int:
        return self.paid_total - self.refunded_total

    @property
    def has_payment(self) -> bool:
        return any(b.status is BillingStatus.PAID for b in self.billings)

    @property
    def charge_in_flight(self) -> bool:
        return any(b.status is BillingStatus.CHARGING for b in self.billings)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.item_id == item_id:
                return item
        refuse(Refusal.ITEM_NOT_FOUND, f"order {self.order_id} has no item {item_id!r}")

    def billing(self, seq: int) -> Billing | None:
        return next((b for b in self.billings if b.seq == seq), None)

    def deadline(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind), None)

    # ------------------------------------------------------------------ checks shared by rules

    def require_open(self) -> None:
        if self.closed:
            refuse(Refusal.ORDER_CLOSED, f"order {self.order_id} is {self.status.value}")

    def require_status(self, *allowed: OrderStatus, operation: str) -> None:
        self.require_open()
        if self.status not in allowed:
            expected = ", ".join(s.value for s in allowed)
            refuse(Refusal.WRONG_STATUS, f"{operation} needs the order to be {expected}; it is {self.status.value}")

    # ------------------------------------------------------------------ writing

    def record(self, now: datetime, actor: str, action: str, detail: str = "") -> None:
        """Add to the order's history (who did what, when)."""
        self.history.append(HistoryEntry(at=now, actor=actor, action=action, detail=detail))
        self.updated_at = now

    def record_rejected_signal(
        self,
        now: datetime,
        actor: str,
        signal: str,
        refusal: str,
        detail: str,
        *,
        keep: int | None,
        publish_when_full: bool = True,
    ) -> None:
        """Record a rejected signal in the staff part, keeping only the latest ``keep`` of them.

        A rejection is staff's (or a system's) mistake, not something that
        happened to the customer's order: the customer's history shows nothing.
        Anyone who can reach Temporal can send signals; without a bound, a flood
        of small bad ones would grow the order's state, the workflow's history
        and the read model's row without end. The oldest rejection gives way
        and is counted in ``rejected_signals_not_listed``.
        ``keep`` None keeps every one (orders from before signals were bounded).
        ``publish_when_full`` False is how orders from before the staff part
        ran: a rejection that only replaced the oldest one changed nothing worth
        a transition, and they must replay with the same transitions.
        """
        listed = self.staff.rejected_signals
        dropped = False
        while keep is not None and len(listed) >= keep:
            listed.pop(0)
            self.staff.rejected_signals_not_listed += 1
            dropped = True
        listed.append(RejectedSignal(at=now, actor=actor, signal=signal, refusal=refusal, detail=detail))
        self.staff_changed = self.staff_changed or publish_when_full or not dropped

    def note_internally(self, now: datetime, actor: str, operation: str, note: str) -> None:
        """Staff's internal note on an operation: in the staff part, with who and when; never in an event."""
        self.staff.internal_notes.append(InternalNote(at=now, actor=actor, operation=operation, note=note))
        self.staff_changed = True

    def alert_staff(self, now: datetime, alert: str, due_at: datetime, consequence: str) -> None:
        """An alert for staff only (``order.staff_alert`` goes out with it)."""
        self.staff.alerts.append(StaffAlertEntry(at=now, alert=alert, due_at=due_at, consequence=consequence))
        self.staff_changed = True
        self.emit(events.OrderStaffAlert(**self.head(), alert=alert, due_at=due_at, consequence=consequence))
        self.updated_at = now

    def tell_customer(self, now: datetime, actor: str, message: str, *, since: int) -> None:
        """Staff's deliberate words to the customer: on every order event the operation raised (from effect
        ``since`` on), and in the customer's history."""
        for effect in self.effects[since:]:
            if effect.topic == ORDERS_EVENTS:
                effect.data["staff_message"] = message
        self.record(now, actor, "message from staff", message)

    def head(self) -> EventHead:
        """What an order event raised now starts with: the order, its customer, its status."""
        return {"order_id": self.order_id, "customer_id": self.customer_id, "status": self.status.value}

    def emit(self, event: events.OrderEvent) -> None:
        """An order event (daiko.orders.events.v1, keyed by order id)."""
        self.effects.append(Effect(topic=ORDERS_EVENTS, key=self.order_id, type=event.type, data=event.to_data()))

    def command_deposit(self, command: ChargeRequested | RefundRequested) -> None:
        """A command to the customer's deposit (daiko.deposits.commands.v1, keyed by customer id)."""
        self.effects.append(
            Effect(topic=DEPOSITS_COMMANDS, key=self.customer_id, type=command.type, data=command.to_data())
        )

    def start_deadline(self, kind: DeadlineKind, now: datetime, after: timedelta, *, remind: bool) -> Deadline:
        """(Re)start an automatic rule's clock; restarting also re-arms its reminder (R13)."""
        self.end_deadline(kind)
        due = now + after
        deadline = Deadline(
            kind=kind,
            rule=RULE_OF_DEADLINE[kind],
            due_at=due,
            remind_at=due - self.lead_time(kind) if remind else None,
            started_at=now,
        )
        self.deadlines.append(deadline)
        return deadline

    def move_deadline(self, deadline: Deadline, due: datetime, now: datetime, actor: str | None) -> None:
        """A new due time; a reminder already sent is sent again only if there is time for it."""
        deadline.due_at = due
        deadline.moved_by = actor
        if deadline.remind_at is not None:
            deadline.remind_at = due - self.lead_time(deadline.kind)
            if deadline.remind_at > now:
                deadline.reminded_at = None

    def lead_time(self, kind: DeadlineKind) -> timedelta:
        """How long before a deadline its reminder (R13) or, for the estimate, the staff alert (R14) goes out."""
        return self.policy.estimate_alert_before if kind is DeadlineKind.ESTIMATE else self.policy.reminder_before

    def end_deadline(self, kind: DeadlineKind) -> None:
        self.deadlines = [d for d in self.deadlines if d.kind is not kind]

    def request_charge(self, billing: Billing, now: datetime) -> None:
        """Ask the deposit to charge a billing; the answer comes back as a deposit event."""
        billing.status = BillingStatus.CHARGING
        self.command_deposit(
            ChargeRequested(
                order_id=self.order_id,
                customer_id=self.customer_id,
                billing_seq=billing.seq,
                revision=billing.revision,
                amount=billing.total,
                idempotency_key=ChargeKey(self.order_id, billing.seq, billing.revision),
                description=f"order {self.order_id}, billing {billing.seq} (revision {billing.revision})",
            )
        )
        self.updated_at = now

    def request_refund(self, amount: int, reason: str, now: datetime, *, unbilled: bool = False) -> Refund | None:
        """Give money back to the deposit (nothing to do for zero)."""
        if amount <= 0:
            return None
        refund = Refund(
            key=str(RefundKey(self.order_id, len(self.refunds) + 1)),
            amount=amount,
            reason=reason,
            unbilled=unbilled,
            requested_at=now,
        )
        self.refunds.append(refund)
        self.command_deposit(
            RefundRequested(
                order_id=self.order_id,
                customer_id=self.customer_id,
                amount=amount,
                idempotency_key=RefundKey.parse(refund.key),
                reason=reason,
            )
        )
        return refund

    def close(self, status: OrderStatus, now: datetime, reason: CancelReason | None = None) -> None:
        """End the order: no deadline runs any more, unpaid billings are void."""
        self.status = status
        self.cancel_reason = reason
        self.closed_at = now
        self.deadlines = []
        for billing in self.billings:
            if billing.status is BillingStatus.AWAITING_PAYMENT:
                billing.status = BillingStatus.CANCELED

    # ------------------------------------------------------------------ the R1 view

    def pending_operations(self) -> list[PendingOperation]:
        """The customer's green buttons (R2), each with its amount and deadline."""
        if self.closed:
            return []
        operations: list[PendingOperation] = []
        for billing in self.billings:
            if billing.status is BillingStatus.CHARGING:
                operations.append(
                    PendingOperation(
                        operation=CustomerOperation.PAYMENT_PROCESSING,
                        description=f"Payment being processed: billing {billing.seq}, {billing.total} yen from "
                        "your deposit; nothing to do until it is confirmed",
                        billing_seq=billing.seq,
                        revision=billing.revision,
                        amount=billing.total,
                    )
                )
            if billing.status is BillingStatus.AWAITING_PAYMENT:
                kind = DeadlineKind.PAYMENT if billing.seq == 1 else DeadlineKind.ABANDONMENT
                deadline = self.deadline(kind)
                operations.append(
                    PendingOperation(
                        operation=CustomerOperation.PAY_BILLING,
                        description=f"Pay billing {billing.seq} from your deposit",
                        billing_seq=billing.seq,
                        revision=billing.revision,
                        amount=billing.total,
                        due_at=deadline.due_at if deadline else None,
                        shortfall=billing.last_rejection.shortfall if billing.last_rejection else None,
                    )
                )
        if self.status in (OrderStatus.APPLIED, OrderStatus.AWAITING_PAYMENT) and not (
            self.has_payment or self.charge_in_flight
        ):
            payment = self.deadline(DeadlineKind.PAYMENT)
            condition = "until you pay a billing; after a payment, changes go by message to the agency"
            until = f" by {payment.due_at:%Y-%m-%d %H:%M} UTC" if payment else ""
            operations.append(
                PendingOperation(
                    operation=CustomerOperation.CANCEL,
                    description=f"Cancel the whole order (R4): possible{until} {condition}",
                    due_at=payment.due_at if payment else None,
                    condition=condition,
                )
            )
        if self.service_type is ServiceType.FORWARD and self.status in (
            OrderStatus.APPLIED,
            OrderStatus.AWAITING_PAYMENT,
            OrderStatus.AWAITING_ARRIVAL,
        ):
            operations += [
                PendingOperation(
                    operation=CustomerOperation.ADD_TRACKING,
                    description=f"Add the domestic tracking number of item {item.item_id} ({item.name}) "
                    "once the shop has shipped it",
                    item_id=item.item_id,
                )
                for item in self.live_items
                if item.status is ItemStatus.REQUESTED and not item.domestic_tracking_number
            ]
        if self.status is OrderStatus.SHIPPED:
            completion = self.deadline(DeadlineKind.COMPLETION)
            operations.append(
                PendingOperation(
                    operation=CustomerOperation.REPORT_RECEPTION,
                    description="Send a reception report: received fine, or report problems (R7, R8)",
                    due_at=completion.due_at if completion else None,
                )
            )
        if self.status is OrderStatus.DISPUTED:
            operations.append(
                PendingOperation(
                    operation=CustomerOperation.EXPLAIN_DISPUTE,
                    description="Explain the problem to the agency by message, with photos of what is wrong (R8); "
                    "staff settle the dispute from it",
                    condition="until staff resolve the dispute",
                )
            )
        return operations

    def next_deadline(self) -> datetime | None:
        return min((d.due_at for d in self.deadlines), default=None)

    def staff_part(self) -> StaffPart:
        """What only staff see; shared like ``view()``."""
        return self.staff

    def view(self) -> OrderView:
        """The R1 view; shares (never copies) the state's parts, which are not mutated after commit."""
        facts = {name: getattr(self, name) for name in OrderFacts.model_fields}
        return OrderView.model_construct(
            **facts,
            pending_operations=self.pending_operations(),
            paid_total=self.paid_total,
            refunded_total=self.refunded_total,
            next_deadline=self.next_deadline(),
        )


class CarriedOver(BaseModel):
    """The input of a run that carries an order on after ``continue_as_new``: its whole state, as it stood.

    Everything the order knows is in ``order``: its history, the deposit
    answers already applied, its deadlines (absolute due times, so the new
    run's timers fire when the old run's would have), its policy and the last
    version recorded in the read model, which the new run counts on from.
    """

    model_config = ConfigDict(extra="forbid")

    order: Order
    runs_before: Annotated[int, Field(ge=1)] = 1  # runs of this order that ended by continuing as new
