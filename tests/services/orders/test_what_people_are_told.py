"""Issue 11 over the HTTP API on the running stack: staff's words and mistakes reach only whom they are for,
and a forward customer adds tracking numbers after applying.

The customer's ``GET /v1/orders/{id}`` serves the stored view as it is, so
anything staff-only must never be in it: it lives in the staff part, which
only ``GET /v1/staff/orders/{id}`` serves (``staff``).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import StackSettings, bearer, customer_token
from tests.services.orders.driver import Driver, forward_application, pending, purchase_application

pytestmark = pytest.mark.stack


async def test_internal_notes_reach_only_the_staff_view_and_the_message_to_the_customer_reaches_the_customer(
    driver: Driver,
) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.staff_op(
        order_id,
        "estimate",
        {
            "domestic_shipping": 800,
            "internal_note": "seller asked twice for the address",
            "message_to_customer": "The shop ships within two days.",
        },
    )
    await driver.staff_op(order_id, "move-deadline", {"deadline": "payment", "shift_by": "P1D", "note": "old field"})

    customer = await driver.view(order_id)
    staff = await driver.staff_view(order_id)

    seen_by_customer = json.dumps(customer)
    assert "seller asked twice" not in seen_by_customer and "old field" not in seen_by_customer
    assert "staff" not in customer
    said = [(h["action"], h["detail"]) for h in customer["history"] if h["action"] == "message from staff"]
    assert said == [("message from staff", "The shop ships within two days.")]
    notes = [(n["operation"], n["note"], n["actor"]) for n in staff["staff"]["internal_notes"]]
    assert notes == [
        ("estimate", "seller asked twice for the address", "staff:staff-1"),
        ("move_deadline", "old field", "staff:staff-1"),
    ]
    assert staff["history"] == customer["history"]  # the staff view is the customer's view plus the staff part


async def test_paying_a_revision_that_does_not_exist_is_a_422_naming_the_current_revision(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})

    response = await driver.customer_op(order_id, "payments", {"billing_seq": 1, "revision": 2})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "billing 1 has no revision 2: its current revision is 1" in response.json()["detail"]


async def test_a_forward_customer_applies_without_tracking_numbers_and_adds_them_until_the_item_arrives(
    driver: Driver, settings: StackSettings
) -> None:
    application = forward_application()
    del application["items"][0]["domestic_tracking_number"]
    order_id = await driver.apply(application)
    applied = await driver.wait_for(order_id, lambda v: bool(pending(v, "add_tracking")), "the add-tracking button")
    assert applied["items"][0]["domestic_tracking_number"] is None

    stranger = bearer(customer_token(settings, f"cust-{uuid.uuid4().hex[:12]}"))
    url = f"/v1/orders/{order_id}/items/1/tracking"
    assert (await driver.http.put(url, json={"domestic_tracking_number": "X"}, headers=stranger)).status_code == 404
    added = await driver.http.put(url, json={"domestic_tracking_number": "JP-778899"}, headers=driver.customer)

    assert added.status_code == 200, added.text
    assert added.json()["items"][0]["domestic_tracking_number"] == "JP-778899"
    assert pending(added.json(), "add_tracking") == []
    staff = await driver.staff_view(order_id)
    assert staff["items"][0]["domestic_tracking_number"] == "JP-778899"
    await driver.staff_op(order_id, "item-arrived", {"item_id": "1"})
    late = await driver.http.put(url, json={"domestic_tracking_number": "JP-0"}, headers=driver.customer)
    assert late.status_code == 409, late.text
    assert late.headers["content-type"] == "application/problem+json"


async def test_a_tracking_number_must_be_text_and_the_item_must_exist(driver: Driver) -> None:
    order_id = await driver.apply(forward_application())
    url = f"/v1/orders/{order_id}/items/{{item}}/tracking"

    malformed = await driver.http.put(
        url.format(item="1"), json={"domestic_tracking_number": ""}, headers=driver.customer
    )
    missing = await driver.http.put(
        url.format(item="9"), json={"domestic_tracking_number": "JP-1"}, headers=driver.customer
    )

    assert malformed.status_code == 422, malformed.text
    assert missing.status_code == 409, missing.text  # the order exists; it has no such item
    assert missing.json()["type"].endswith("/item-not-found")
