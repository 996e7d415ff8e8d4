"""The rules of halted orders without I/O: which endings halt, the halted view, the deposit's late answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.orders import mapping
from services.orders.halts import domain as halt_rules
from services.orders.schemas import ApplicationIn
from workflows.models import (
    BillingStatus,
    DepositEvent,
    EstimateRequest,
    OrderStatus,
    OrderView,
    PayBillingRequest,
    RefundStatus,
)
from workflows.order_state import Order
from workflows.rules import billing, payment

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _order(*, paid: bool) -> Order:
    application = ApplicationIn.model_validate(
        {
            "service_type": "purchase",
            "payment_plan": "one_time",
            "delivery_address": {
                "name": "Alex Martin",
                "country": "FR",
                "address_lines": ["12 rue Oberkampf"],
                "phone": "+33 6 12 34 56 78",
            },
            "items": [{"name": "figure", "shop_or_url": "shop", "quantity": 1, "unit_price_estimate": 1000}],
        }
    )
    order = Order.open(mapping.application(application, order_id="P261201-HALTED22", customer_id="cust-1"), NOW)
    billing.estimate(
        order, EstimateRequest(domestic_shipping=0, service_fee=300, international_shipping=1500), NOW, "staff:s"
    )
    payment.pay_billing(order, PayBillingRequest(billing_seq=1), NOW, "customer")
    if paid:
        payment.deposit_result(order, charged(order), NOW, "deposits")
    return order


def charged(order: Order, event_id: str = "e-charged") -> DepositEvent:
    first = order.billing(1)
    assert first is not None
    return DepositEvent(
        event_id=event_id,
        type="deposit.charged",
        order_id=order.order_id,
        billing_seq=1,
        revision=first.revision,
        amount=first.total,
    )


def test_only_an_abnormal_ending_of_an_open_order_halts_it() -> None:
    assert halt_rules.halts("terminated", OrderStatus.PURCHASING)
    assert halt_rules.halts("missing", OrderStatus.AWAITING_PAYMENT)
    assert not halt_rules.halts("completed", OrderStatus.PURCHASING)
    assert not halt_rules.halts(None, OrderStatus.PURCHASING)  # still running
    assert not halt_rules.halts("terminated", OrderStatus.COMPLETED)  # the order had ended already
    assert not halt_rules.halts("terminated", OrderStatus.HALTED)  # recorded once


def test_a_halted_order_offers_nothing_and_says_what_it_holds() -> None:
    order = _order(paid=True)
    view = order.view()
    assert view.status is OrderStatus.PURCHASING
    halted = halt_rules.halted_view(view, cause="terminated", now=LATER)
    assert halted.status is OrderStatus.HALTED
    assert halted.pending_operations == [] and halted.next_deadline is None
    assert halted.halted is not None and halted.halted.held == view.paid_total == 2800
    assert "stopped by an operator" in halted.halted.explanation and "2,800 yen" in halted.halted.explanation
    assert halted.history[-1].action == "halted"


def test_the_settlement_takes_the_next_refund_key_and_is_settled_by_the_deposit_answer() -> None:
    halted = halt_rules.halted_view(_order(paid=True).view(), cause="failed", now=LATER)
    key = halt_rules.next_refund_key(halted)
    assert str(key) == "refund:P261201-HALTED22:1"
    asked = halt_rules.with_settlement_requested(halted, key=key, amount=2800, actor="staff:s-7", now=LATER)
    assert halt_rules.held(asked) == 0 and asked.halted is not None and asked.halted.held == 0
    assert asked.history[-1].actor == "staff:s-7"
    refunded = DepositEvent(
        event_id="e-refunded", type="deposit.refunded", order_id=halted.order_id, amount=2800, refund_key=str(key)
    )
    settled = halt_rules.with_deposit_answer(asked, refunded, LATER)
    assert settled is not None and settled.halted is not None
    assert settled.halted.settled_at == LATER and settled.refunds[-1].status is RefundStatus.REFUNDED
    assert halt_rules.with_deposit_answer(settled, refunded, LATER) is None  # delivered again: nothing moves


def test_a_rejected_settlement_gives_the_money_back_to_what_the_order_holds() -> None:
    halted = halt_rules.halted_view(_order(paid=True).view(), cause="terminated", now=LATER)
    key = halt_rules.next_refund_key(halted)
    asked = halt_rules.with_settlement_requested(halted, key=key, amount=2800, actor="staff:s", now=LATER)
    rejected = DepositEvent(
        event_id="e-rej", type="deposit.refund_rejected", order_id=halted.order_id, refund_key=str(key)
    )
    after = halt_rules.with_deposit_answer(asked, rejected, LATER)
    assert after is not None and halt_rules.held(after) == 2800
    assert after.halted is not None and after.halted.settled_at is None
    assert str(halt_rules.next_refund_key(after)) == "refund:P261201-HALTED22:2"  # a retry takes a new key


def test_a_charge_in_flight_when_it_halted_is_held_once_the_deposit_charges_it() -> None:
    order = _order(paid=False)
    halted = halt_rules.halted_view(order.view(), cause="terminated", now=LATER)
    assert halted.billings[0].status is BillingStatus.CHARGING and halt_rules.held(halted) == 0
    after = halt_rules.with_deposit_answer(halted, charged(order), LATER)
    assert isinstance(after, OrderView) and halt_rules.held(after) == 2800
    assert after.billings[0].status is BillingStatus.PAID and after.pending_operations == []
    assert halt_rules.with_deposit_answer(after, charged(order, "e-again"), LATER) is None
