"""Whole orders driven through the orders HTTP API on the real stack, from application to completion.

The stack runs production durations (7 days to pay, ...), so nothing here
waits for a timer: staff operations move each order along.
"""

from __future__ import annotations

import pytest

from tests.services.orders.driver import Driver, billing, forward_application, pending, purchase_application

pytestmark = pytest.mark.stack


async def test_two_time_purchase_order_goes_from_application_to_completion(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application("two_time", items=2))

    # Readable at once, even before the read model has its first row.
    view = await driver.view(order_id)
    assert (view["status"], view["service_type"], view["payment_plan"]) == ("applied", "purchase", "two_time")
    assert [item["quantity"] for item in view["items"]] == [1, 2]
    assert view["delivery_address"]["country"] == "FR"

    view = await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800, "service_fee": 500})
    assert view["status"] == "awaiting_payment"
    first = billing(view, 1)
    assert first["kind"] == "first"
    assert first["total"] == 1000 * 1 + 2000 * 2 + 800 + 500  # items at the customer's prices, fees (R12)

    # R2: the green buttons, with what they need.
    view = await driver.view(order_id)
    [pay] = pending(view, "pay_billing")
    assert (pay["billing_seq"], pay["amount"]) == (1, first["total"])
    assert pay["due_at"] is not None  # R5: 7 days to pay
    assert pending(view, "cancel")
    assert view["next_deadline"] == pay["due_at"]

    view = await driver.pay(order_id, 1)
    assert view["status"] == "purchasing"
    assert view["paid_total"] == first["total"]
    assert not pending(view, "cancel")  # R4: no cancel after a payment

    for item_id in ("1", "2"):
        await driver.staff_op(order_id, "item-purchased", {"item_id": item_id})
    for item_id in ("1", "2"):
        view = await driver.staff_op(order_id, "item-arrived", {"item_id": item_id})
    assert view["status"] == "at_warehouse"
    assert {d["kind"] for d in view["deadlines"]} == {"abandonment"}  # R11 clock runs

    view = await driver.staff_op(
        order_id, "issue-second-billing", {"international_shipping": 2400, "shipping_method": "EMS"}
    )
    assert view["status"] == "awaiting_second_payment"
    second = billing(view, 2)
    assert (second["kind"], second["total"]) == ("second", 2400)
    customer_view = await driver.view(order_id)
    assert [op["billing_seq"] for op in pending(customer_view, "pay_billing")] == [2]

    view = await driver.pay(order_id, 2)
    assert view["status"] == "preparing_shipment"

    view = await driver.staff_op(
        order_id, "ship", {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM123456789JP"]}
    )
    assert view["status"] == "shipped"
    customer_view = await driver.view(order_id)
    assert customer_view["shipment"]["tracking_numbers"] == ["EM123456789JP"]
    assert pending(customer_view, "report_reception")[0]["due_at"] is not None  # R7: completes after 50 days

    response = await driver.customer_op(order_id, "reception-report", {"received_fine": True})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"

    listed = await driver.http.get("/v1/orders", params={"state": "completed"}, headers=driver.customer)
    assert [o["order_id"] for o in listed.json()["orders"]] == [order_id]
    ongoing = await driver.http.get("/v1/orders", params={"state": "ongoing"}, headers=driver.customer)
    assert ongoing.json()["orders"] == []

    # Nothing can be done on a completed order any more.
    for path, body in (
        ("cancel", {}),
        ("payments", {"billing_seq": 2}),
        ("reception-report", {"received_fine": True}),
    ):
        refused = await driver.customer_op(order_id, path, body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/order-closed")
        assert refused.headers["content-type"] == "application/problem+json"
    refused = await driver.staff_try(order_id, "cancel-order", {"reason": "too late"})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/order-closed")


async def test_one_time_forward_order_with_a_problem_report_completes_when_staff_resolve_it(driver: Driver) -> None:
    application = forward_application("one_time")
    order_id = await driver.apply(application)
    view = await driver.view(order_id)
    tracking = application["items"][0]["domestic_tracking_number"]
    assert view["items"][0]["domestic_tracking_number"] == tracking

    view = await driver.staff_op(order_id, "confirm-handling", {"service_fee": 500, "international_shipping": 2400})
    assert view["status"] == "awaiting_payment"
    single = billing(view, 1)
    assert (single["kind"], single["total"]) == ("single", 2900)  # one billing with everything (R12)
    assert {d["kind"] for d in view["deadlines"]} == {"payment", "arrival"}  # R5 and R6 clocks

    view = await driver.pay(order_id, 1)
    assert view["status"] == "awaiting_arrival"

    view = await driver.staff_op(order_id, "item-arrived", {"item_id": "1"})
    assert view["status"] == "preparing_shipment"  # one-time plan: nothing more to pay

    view = await driver.staff_op(
        order_id, "ship", {"method": "SAL", "carrier": "Japan Post", "tracking_numbers": ["RR1JP", "RR2JP"]}
    )
    assert view["shipment"]["tracking_numbers"] == ["RR1JP", "RR2JP"]

    response = await driver.customer_op(order_id, "reception-report", {"problems": "the box was crushed"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disputed"  # R8
    assert response.json()["dispute"]["description"] == "the box was crushed"

    too_much = await driver.staff_try(order_id, "resolve-dispute", {"refund_amount": 2901, "resolution": "x"})
    assert too_much.status_code == 409
    assert too_much.json()["type"].endswith("/refund-exceeds-paid")

    view = await driver.staff_op(order_id, "resolve-dispute", {"refund_amount": 500, "resolution": "box damage"})
    assert view["status"] == "completed"
    assert view["refunded_total"] == 500
    assert view["dispute"]["refund_amount"] == 500


async def test_refused_customer_operations_answer_409_saying_why(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application("one_time", items=1))

    not_yet = await driver.customer_op(order_id, "payments", {"billing_seq": 1})
    assert not_yet.status_code == 409
    assert not_yet.json()["type"].endswith("/billing-not-found")

    await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 2000})

    wrong_billing = await driver.customer_op(order_id, "payments", {"billing_seq": 2})
    assert wrong_billing.status_code == 409
    assert wrong_billing.json()["type"].endswith("/billing-not-found")
    assert "billing 2" in wrong_billing.json()["detail"]

    never_issued = await driver.customer_op(order_id, "payments", {"billing_seq": 1, "revision": 7})
    assert never_issued.status_code == 422  # a revision never issued is bad input, not a conflict
    assert "has no revision 7: its current revision is 1" in never_issued.json()["detail"]

    await driver.pay(order_id, 1)

    pay_twice = await driver.customer_op(order_id, "payments", {"billing_seq": 1})
    assert pay_twice.status_code == 409
    assert pay_twice.json()["type"].endswith("/billing-not-payable")

    cancel_after_payment = await driver.customer_op(order_id, "cancel", {"reason": "changed my mind"})
    assert cancel_after_payment.status_code == 409  # R4
    assert cancel_after_payment.json()["type"].endswith("/payment-already-made")
    assert cancel_after_payment.json()["refusal"] == "PaymentAlreadyMade"

    early_report = await driver.customer_op(order_id, "reception-report", {"received_fine": True})
    assert early_report.status_code == 409
    assert early_report.json()["type"].endswith("/wrong-order-status")

    view = await driver.view(order_id)
    assert view["status"] == "purchasing"  # refusals changed nothing


async def test_a_customer_cancels_before_payment_and_the_canceled_order_refuses_everything(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})

    response = await driver.customer_op(order_id, "cancel", {"reason": "found it cheaper"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("canceled", "customer_request")

    listed = await driver.http.get("/v1/orders", params={"state": "canceled"}, headers=driver.customer)
    assert [o["order_id"] for o in listed.json()["orders"]] == [order_id]

    for path, body in (("cancel", None), ("payments", {"billing_seq": 1})):
        refused = await driver.customer_op(order_id, path, body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/order-closed")
    refused = await driver.staff_try(order_id, "estimate", {"domestic_shipping": 900})
    assert refused.status_code == 409
