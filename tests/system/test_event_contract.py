"""The contract between the order workflow and messaging, without the stack: real events in, real notices out.

The order workflow's own rules produce the ``daiko.orders.events.v1`` payloads
exactly as it publishes them; messaging's own wording turns them into the
customer's system notices. The two were built apart, and the whole-order test
found them apart: notices without the payment deadline (R5), the tracking
numbers (R7), the item's name, the reminder's consequence and date (R13),
and a "please pay" notice sent right after the customer had paid. These
tests keep them together.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from daiko.events import ORDERS_EVENTS
from services.messaging.notices import Notice, notice_for
from workflows.models import (
    DeliveryAddress,
    DepositEvent,
    EstimateRequest,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemRequest,
    OrderApplication,
    PayBillingRequest,
    PaymentPlan,
    SecondBillingRequest,
    ServiceType,
    ShipRequest,
)
from workflows.order_state import Order
from workflows.rules import billing, deadlines, fulfilment, payment

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 10:00 in Japan


def new_order() -> Order:
    return Order.open(
        OrderApplication(
            order_id="P261126-CONTRACT",
            customer_id="cust-contract",
            service_type=ServiceType.PURCHASE,
            payment_plan=PaymentPlan.TWO_TIME,
            delivery_address=DeliveryAddress(
                name="Alex Martin", country="FR", postal_code="75011", address_lines=["12 rue Oberkampf"], phone="+33"
            ),
            items=[ItemRequest(name="MG 1/100 RX-78-2", quantity=1, unit_price_estimate=5280)],
        ),
        T0,
    )


def published(order: Order) -> list[tuple[str, dict[str, Any]]]:
    """The order events the rules just raised, as the workflow publishes them (through JSON)."""
    events = [(e.type, json.loads(json.dumps(e.data))) for e in order.effects if e.topic == ORDERS_EVENTS]
    order.effects = []
    return events


def notices(order: Order) -> list[Notice]:
    return [n for kind, data in published(order) if (n := notice_for(kind, data)) is not None]


def charged(order: Order, seq: int, amount: int, now: datetime) -> None:
    event = DepositEvent(
        event_id=f"charged-{seq}",
        type="deposit.charged",
        order_id=order.order_id,
        billing_seq=seq,
        revision=1,
        amount=amount,
    )
    payment.deposit_result(order, event, now, "deposits")


def test_the_estimate_notice_says_how_much_and_until_when_to_pay_r5() -> None:
    order = new_order()
    published(order)
    billing.estimate(order, EstimateRequest(domestic_shipping=800, service_fee=500), T0, "staff")
    [notice] = notices(order)
    assert notice.notice_type == "estimate_ready"
    assert "¥6,580" in notice.body
    assert "by 03 Dec 2026 10:00 JST" in notice.body  # 7 days later, in Japan time
    assert "canceled automatically" in notice.body


def test_paying_gives_one_notice_when_the_money_is_taken_and_none_asking_to_pay_again() -> None:
    order = new_order()
    billing.estimate(order, EstimateRequest(), T0, "staff")
    published(order)
    payment.pay_billing(order, PayBillingRequest(billing_seq=1, revision=1), T0, "customer")
    assert notices(order) == []  # the customer has just pressed "pay": nothing to tell yet
    charged(order, 1, 5280, T0)
    assert [n.body for n in notices(order)] == ["We have received your payment of ¥5,280. Thank you."]


def test_item_notices_name_the_item() -> None:
    order = new_order()
    billing.estimate(order, EstimateRequest(), T0, "staff")
    payment.pay_billing(order, PayBillingRequest(billing_seq=1), T0, "customer")
    charged(order, 1, 5280, T0)
    published(order)
    fulfilment.item_purchased(order, ItemPurchasedRequest(item_id="1"), T0, "staff")
    assert [n.body for n in notices(order)] == ["We have purchased MG 1/100 RX-78-2."]
    fulfilment.item_arrived(order, ItemArrivedRequest(item_id="1"), T0, "staff")
    arrived = notices(order)
    assert [n.notice_type for n in arrived] == ["item_arrived", "items_arrived"]
    assert arrived[0].body == "MG 1/100 RX-78-2 has arrived at our warehouse."


def test_the_second_billing_and_its_reminder_say_what_happens_and_when_r11_r13() -> None:
    order = new_order()
    billing.estimate(order, EstimateRequest(), T0, "staff")
    payment.pay_billing(order, PayBillingRequest(billing_seq=1), T0, "customer")
    charged(order, 1, 5280, T0)
    fulfilment.item_purchased(order, ItemPurchasedRequest(item_id="1"), T0, "staff")
    fulfilment.item_arrived(order, ItemArrivedRequest(item_id="1"), T0, "staff")
    published(order)
    billing.issue_second_billing(order, SecondBillingRequest(international_shipping=2400), T0, "staff")
    [issued] = notices(order)
    assert "¥2,400" in issued.body and "by 26 Dec 2026 10:00 JST" in issued.body and "abandoned" in issued.body

    deadlines.clock_tick(order, None, T0 + timedelta(days=28), "system")  # R13: 2 days before R11's deadline
    [reminder] = notices(order)
    assert reminder.notice_type == "deadline_reminder"
    assert reminder.body.startswith("Reminder: please pay the 2nd billing by 26 Dec 2026 10:00 JST.")
    assert "abandoned" in reminder.body


def test_the_shipping_notice_gives_the_carrier_and_every_tracking_number_r7() -> None:
    order = new_order()
    billing.estimate(order, EstimateRequest(), T0, "staff")
    payment.pay_billing(order, PayBillingRequest(billing_seq=1), T0, "customer")
    charged(order, 1, 5280, T0)
    fulfilment.item_purchased(order, ItemPurchasedRequest(item_id="1"), T0, "staff")
    fulfilment.item_arrived(order, ItemArrivedRequest(item_id="1"), T0, "staff")
    billing.issue_second_billing(order, SecondBillingRequest(international_shipping=2400), T0, "staff")
    payment.pay_billing(order, PayBillingRequest(billing_seq=2), T0, "customer")
    charged(order, 2, 2400, T0)
    published(order)
    fulfilment.ship(
        order, ShipRequest(method="EMS", carrier="Japan Post", tracking_numbers=["EM1JP", "EM2JP"]), T0, "staff"
    )
    [shipped] = notices(order)
    assert shipped.body.startswith("Your items have been shipped (Japan Post, EMS). Tracking numbers: EM1JP, EM2JP.")
    assert "Reception Report" in shipped.body


def test_the_payment_reminder_says_the_order_will_be_canceled_r5_r13() -> None:
    order = new_order()
    billing.estimate(order, EstimateRequest(), T0, "staff")
    published(order)
    deadlines.clock_tick(order, None, T0 + timedelta(days=5, minutes=1), "system")
    [reminder] = notices(order)
    assert reminder.body == (
        "Reminder: please pay your billing by 03 Dec 2026 10:00 JST. "
        "Otherwise the order will be canceled automatically."
    )
