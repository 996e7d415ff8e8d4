"""Halted orders, as rules without I/O: which workflow endings halt an order, and how its view changes.

An order's workflow can end without the order ending: staff terminate it in
the Temporal Web UI, it fails, times out, is canceled, or its history is
deleted. Nothing will ever move that order again, yet its read model still
shows the last stage with buttons that all answer 409. The orders service
then marks it *halted*: the customer sees that, with no operations and a
plain explanation; staff see what the order holds (paid billings minus
refunds) and settle it by refunding that to the deposit.

With no workflow left, the orders service is what keeps the halted order's
view: the deposit's answers to money already on its way (a charge or refund
the workflow had asked for) and to the settlement refund are recorded here,
in the same shapes the workflow's own rules would have given them.
"""

from __future__ import annotations

from datetime import datetime

from contracts.keys import RefundKey
from workflows.models import (
    CLOSED_STATUSES,
    BillingStatus,
    ChargeRejection,
    DepositEvent,
    HaltNotice,
    HistoryEntry,
    OrderStatus,
    OrderView,
    Refund,
    RefundStatus,
)

ABNORMAL_ENDINGS = frozenset({"terminated", "failed", "timed_out", "canceled", "missing", "reset"})
"""Temporal execution statuses (lower case) that leave an order without its workflow; ``missing``: none found;
``reset``: the run its read model came from was reset away (a newer run started from an earlier point)."""

SETTLEMENT_REASON = "halted_order_settlement"

_WHAT_HAPPENED = {
    "terminated": "its processing was stopped by an operator",
    "failed": "its processing failed",
    "timed_out": "its processing ran out of time",
    "canceled": "its processing was canceled",
    "missing": "its processing record could not be found",
    "reset": "its processing was restarted from an earlier point",
}


def halts(cause: str | None, status: OrderStatus) -> bool:
    """An open order whose workflow ended this way can never move again."""
    return cause in ABNORMAL_ENDINGS and status not in CLOSED_STATUSES and status is not OrderStatus.HALTED


def explanation(cause: str, held: int) -> str:
    """What the customer reads on the halted order: what happened, and that nothing is asked of them."""
    money = (
        f" The {held:,} yen you paid for it will be refunded to your deposit by our staff."
        if held > 0
        else " You have paid nothing for it."
    )
    what = _WHAT_HAPPENED.get(cause, "its processing stopped")
    return (
        f"This order was halted: {what}, so it cannot continue and there is nothing you can do on it.{money} "
        "Write to us in the order's messages if you have any question."
    )


def held(view: OrderView) -> int:
    """Paid billings minus refunds (requested or done), as the order counts them."""
    return view.paid_total - view.refunded_total


def halted_view(view: OrderView, *, cause: str, now: datetime) -> OrderView:
    """The order as shown once halted: status ``halted``, no pending operations, no deadline, and why."""
    amount = held(view)
    notice = HaltNotice(halted_at=now, cause=cause, explanation=explanation(cause, amount), held=amount)
    entry = HistoryEntry(at=now, actor="system", action="halted", detail=f"the order's workflow {cause}")
    return view.model_copy(
        update={
            "status": OrderStatus.HALTED,
            "pending_operations": [],
            "next_deadline": None,
            "halted": notice,
            "history": [*view.history, entry],
            "updated_at": now,
        }
    )


def next_refund_key(view: OrderView) -> RefundKey:
    """The order's next refund number: after every refund its workflow or its settlement asked for."""
    return RefundKey(view.order_id, len(view.refunds) + 1)


def with_settlement_requested(view: OrderView, *, key: RefundKey, amount: int, actor: str, now: datetime) -> OrderView:
    """The settlement refund is on its way: the order no longer counts that money as held."""
    refund = Refund(key=str(key), amount=amount, reason=SETTLEMENT_REASON, requested_at=now)
    entry = HistoryEntry(
        at=now, actor=actor, action="refund requested", detail=f"{amount} yen: settling the halted order"
    )
    return _recount(
        view.model_copy(update={"refunds": [*view.refunds, refund], "history": [*view.history, entry]}), now
    )


def with_deposit_answer(view: OrderView, event: DepositEvent, now: datetime) -> OrderView | None:
    """The halted order after one of the deposit's answers; None when the answer changes nothing.

    Mirrors the workflow's payment rules for the answers it can no longer take:
    a charge it had asked for lands (the money is now held) or is refused, a
    refund (its own or the settlement) is done or refused. An answer to
    nothing the order is waiting for changes nothing.
    """
    if event.type in ("deposit.refunded", "deposit.refund_rejected"):
        return _refund_answered(view, event, now)
    return _charge_answered(view, event, now)


def settlement_of(view: OrderView, key: str) -> Refund | None:
    """The settlement refund under this key, if the order has one."""
    return next((r for r in view.refunds if r.key == key and r.reason == SETTLEMENT_REASON), None)


def _refund_answered(view: OrderView, event: DepositEvent, now: datetime) -> OrderView | None:
    refund = next((r for r in view.refunds if r.key == event.refund_key), None)
    if refund is None or refund.status is not RefundStatus.REQUESTED:
        return None
    done = event.type == "deposit.refunded"
    answered = refund.model_copy(
        update={"status": RefundStatus.REFUNDED if done else RefundStatus.REJECTED, "refunded_at": now}
    )
    action, detail = (
        ("refunded", f"{refund.amount} yen back to the deposit ({refund.reason})")
        if done
        else ("refund rejected", f"{refund.amount} yen ({refund.key}): staff must look")
    )
    refunds = [answered if r.key == refund.key else r for r in view.refunds]
    update: dict[str, object] = {
        "refunds": refunds,
        "history": [*view.history, HistoryEntry(at=now, actor="deposits", action=action, detail=detail)],
    }
    if view.halted is not None and refund.reason == SETTLEMENT_REASON and done:
        update["halted"] = view.halted.model_copy(
            update={"settled_at": now, "settlement": f"{refund.amount:,} yen refunded to the deposit"}
        )
    return _recount(view.model_copy(update=update), now)


def _charge_answered(view: OrderView, event: DepositEvent, now: datetime) -> OrderView | None:
    billing = next(
        (b for b in view.billings if b.seq == event.billing_seq and b.revision == event.revision),
        None,
    )
    if billing is None or billing.status is not BillingStatus.CHARGING:
        return None
    if event.type == "deposit.charged":
        answered = billing.model_copy(
            update={"status": BillingStatus.PAID, "paid_at": now, "paid_amount": event.amount}
        )
        entry = HistoryEntry(
            at=now, actor="deposits", action="paid", detail=f"billing {billing.seq}: {event.amount} yen, after halting"
        )
    else:
        answered = billing.model_copy(
            update={
                "status": BillingStatus.AWAITING_PAYMENT,
                "last_rejection": ChargeRejection(at=now, shortfall=event.shortfall),
            }
        )
        entry = HistoryEntry(at=now, actor="deposits", action="charge rejected", detail=f"billing {billing.seq}")
    billings = [answered if b.seq == billing.seq else b for b in view.billings]
    return _recount(view.model_copy(update={"billings": billings, "history": [*view.history, entry]}), now)


def _recount(view: OrderView, now: datetime) -> OrderView:
    """Paid and refunded totals as the workflow counts them (``Order.paid_total``, ``refunded_total``)."""
    paid = sum(b.paid_amount or 0 for b in view.billings if b.status is BillingStatus.PAID)
    refunded = sum(r.amount for r in view.refunds if r.status is not RefundStatus.REJECTED and not r.unbilled)
    update: dict[str, object] = {"paid_total": paid, "refunded_total": refunded, "updated_at": now}
    if view.halted is not None:
        update["halted"] = view.halted.model_copy(update={"held": paid - refunded})
    return view.model_copy(update=update)
