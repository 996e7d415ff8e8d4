"""The automatic rules: deadlines, their reminders, and staff moving them.

R5  payment deadline      -> canceled (payment timeout)
R6  arrival deadline      -> canceled (arrival timeout), anything paid refunded
R11 abandonment deadline  -> abandoned, nothing refunded
R7  completion deadline   -> completed (no reception report)
R13 a reminder goes out before every automatic cancel and abandonment.
R14 estimate deadline     -> canceled (estimate timeout): staff never sent the estimate
    (purchase) or the handling contact (forward); staff, not the customer, are alerted before.
Every staff move of a deadline is told to the customer (``order.deadline_moved``).

A deadline is *held* while the customer cannot act on it: a billing whose
charge is still travelling, or a 2nd billing not issued yet. A held deadline
neither reminds nor fires; once released, an overdue one fires at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import orders as events
from workflows.models import (
    BillingStatus,
    CancelReason,
    Deadline,
    DeadlineKind,
    ItemStatus,
    MoveDeadlineRequest,
    OrderStatus,
)
from workflows.order_state import Order, iso
from workflows.refusals import Refusal, refuse
from workflows.rules.cancellation import cancel_with_refund

CONSEQUENCE = {
    DeadlineKind.ESTIMATE: "the order will be canceled",
    DeadlineKind.PAYMENT: "the order will be canceled",
    DeadlineKind.ARRIVAL: "the order will be canceled",
    DeadlineKind.ABANDONMENT: "the items will be abandoned",
    DeadlineKind.COMPLETION: "the order will be completed",
}
_BILLING_OF = {DeadlineKind.PAYMENT: 1, DeadlineKind.ABANDONMENT: 2}


def is_held(order: Order, deadline: Deadline) -> bool:
    """Waiting for a charge's answer, or for a billing the customer could pay."""
    seq = _BILLING_OF.get(deadline.kind)
    if seq is None:
        return False
    billing = order.billing(seq)
    return billing is None or billing.status is not BillingStatus.AWAITING_PAYMENT


def next_alarm(order: Order) -> datetime | None:
    """When the clock must next look at the order (a reminder or a deadline), if ever."""
    alarms = []
    for deadline in order.deadlines:
        if is_held(order, deadline):
            continue
        alarms.append(deadline.due_at)
        if deadline.remind_at is not None and deadline.reminded_at is None:
            alarms.append(deadline.remind_at)
    return min(alarms, default=None)


def clock_tick(order: Order, _: None, now: datetime, actor: str) -> None:
    """Fire what is due: overdue deadlines apply their rule, reminders due go out."""
    for deadline in sorted(order.deadlines, key=lambda d: d.due_at):
        if order.closed:
            return
        if is_held(order, deadline):
            continue
        if deadline.due_at <= now:
            _expire(order, deadline, now, actor)
        elif deadline.remind_at is not None and deadline.reminded_at is None and deadline.remind_at <= now:
            _remind(order, deadline, now, actor)


def start_estimate_deadline(order: Order, now: datetime) -> None:
    """R14: a new order must be estimated (or its handling confirmed) in time; staff are alerted before.

    No history entry: the deadline is in the view from the first version on, and an order estimated
    within its first workflow task (before the clock could start) reads the same as any other.
    """
    order.start_deadline(DeadlineKind.ESTIMATE, now, order.policy.estimate_due_after, remind=True)


def moved(order: Order, deadline: Deadline, previous: datetime) -> None:
    """Tell the customer a deadline has a new due time (``order.deadline_moved``)."""
    billing = order.billing(_BILLING_OF.get(deadline.kind, 0))
    order.emit(
        events.OrderDeadlineMoved(
            **order.head(),
            deadline=deadline.kind.value,
            due_at=deadline.due_at,
            previous_due_at=previous,
            billing_seq=billing.seq if billing else None,
        )
    )


def move_deadline(order: Order, request: MoveDeadlineRequest, now: datetime, actor: str) -> None:
    """Staff move an automatic deadline (to a time, or by a shift); its reminder follows."""
    order.require_open()
    deadline = order.deadline(request.deadline)
    if deadline is None:
        refuse(Refusal.NO_SUCH_DEADLINE, f"no {request.deadline.value} deadline is running on this order")
    due = request.due_at or deadline.due_at + (request.shift_by or timedelta(0))  # the request has exactly one
    if due <= now:
        refuse(Refusal.INVALID_REQUEST, f"a deadline can only move into the future (now is {iso(now)})")
    previous = deadline.due_at
    order.move_deadline(deadline, due, now, actor)
    order.record(now, actor, "deadline moved", f"{deadline.rule} {deadline.kind.value}: {iso(previous)} -> {iso(due)}")
    moved(order, deadline, previous)


def _remind(order: Order, deadline: Deadline, now: datetime, actor: str) -> None:
    """R13: tell the customer what will happen, when, and what would prevent it."""
    deadline.reminded_at = now
    consequence = CONSEQUENCE[deadline.kind]
    if deadline.kind is DeadlineKind.ESTIMATE:  # R14: staff's to act on; the customer can do nothing about it
        order.alert_staff(now, "estimate_overdue", deadline.due_at, consequence)
        return
    billing = order.billing(_BILLING_OF.get(deadline.kind, 0))
    order.record(now, actor, "reminder sent", f"{deadline.rule}: {consequence} at {iso(deadline.due_at)}")
    order.emit(
        events.OrderDeadlineReminder(
            **order.head(),
            deadline=deadline.kind.value,
            rule=deadline.rule,
            due_at=deadline.due_at,
            consequence=consequence,
            billing_seq=billing.seq if billing else None,
            amount=billing.total if billing else None,
        )
    )


def _expire(order: Order, deadline: Deadline, now: datetime, actor: str) -> None:
    if deadline.kind is DeadlineKind.ESTIMATE:
        detail = "the agency did not send the estimate in time (R14)"
        cancel_with_refund(order, CancelReason.ESTIMATE_TIMEOUT, detail, now, actor)
    elif deadline.kind is DeadlineKind.PAYMENT:
        cancel_with_refund(order, CancelReason.PAYMENT_TIMEOUT, "not paid in time (R5)", now, actor)
    elif deadline.kind is DeadlineKind.ARRIVAL:
        cancel_with_refund(order, CancelReason.ARRIVAL_TIMEOUT, "the items did not arrive in time (R6)", now, actor)
    elif deadline.kind is DeadlineKind.ABANDONMENT:
        unpaid = order.billing(2)
        for item in order.items:
            if item.status is ItemStatus.ARRIVED:
                item.status = ItemStatus.DISCARDED  # R11: what was at the warehouse is discarded
        order.close(OrderStatus.ABANDONED, now)
        order.record(now, actor, "abandoned", "the 2nd billing was not paid in time; nothing is refunded (R11)")
        order.emit(events.OrderAbandoned(**order.head(), unpaid_amount=unpaid.total if unpaid else None))
    else:
        order.close(OrderStatus.COMPLETED, now)
        order.record(now, actor, "completed", "no reception report within the completion period (R7)")

        order.emit(events.OrderCompleted(**order.head(), completed_by="no_reception_report"))
