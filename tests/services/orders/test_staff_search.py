"""The staff order list on the running stack: search by order id, customer and item name; rows with totals.

A query parameter the list does not take is refused, naming it and the valid
ones: before, ``?q=Gundam`` answered every order, which read as "these match".
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.services.orders.driver import Driver, purchase_application

pytestmark = pytest.mark.stack


async def staff_list(driver: Driver, **params: Any) -> list[dict[str, Any]]:
    response = await driver.http.get("/v1/staff/orders", params=params, headers=driver.staff)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["orders"]
    return rows


def gundam_application(marker: str) -> dict[str, Any]:
    application = purchase_application(items=2)
    application["items"][0]["name"] = f"Gundam RX-78-2 MG {marker}"
    return application


@pytest.mark.parametrize("unknown", [{"q": "Gundam"}, {"order_id_prefix": "P2"}, {"q": "x", "sort": "oldest"}])
async def test_an_unknown_query_parameter_is_a_422_naming_it_and_the_valid_ones(
    driver: Driver, unknown: dict[str, str]
) -> None:
    response = await driver.http.get("/v1/staff/orders", params=unknown, headers=driver.staff)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("unknown-query-parameter")
    assert problem["unknown"] == sorted(unknown)
    assert {"order_id", "customer_id", "item", "status", "cursor", "limit"} <= set(problem["valid"])
    for name in unknown:
        assert name in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == [f"query.{name}" for name in sorted(unknown)]


async def test_staff_find_an_order_by_part_of_its_id_in_any_case(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")
    part = order_id[-6:].lower()
    found = await staff_list(driver, order_id=part)
    assert order_id in [row["order_id"] for row in found]
    assert all(part in row["order_id"].lower() for row in found)
    assert await staff_list(driver, order_id=f"{order_id}-nothing") == []


async def test_staff_search_by_customer_and_item_name_together(driver: Driver) -> None:
    marker = uuid.uuid4().hex[:8]
    gundam = await driver.apply(gundam_application(marker))
    other = await driver.apply(purchase_application())
    for order_id in (gundam, other):
        await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")

    mine = await staff_list(driver, customer_id=driver.customer_id)
    assert {row["order_id"] for row in mine} == {gundam, other}
    found = await staff_list(driver, customer_id=driver.customer_id, item=f"gundam rx-78-2 mg {marker}")
    assert [row["order_id"] for row in found] == [gundam]


async def test_staff_rows_carry_item_names_and_billed_and_paid_totals(driver: Driver) -> None:
    marker = uuid.uuid4().hex[:8]
    order_id = await driver.apply(gundam_application(marker))
    await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")
    [applied] = await staff_list(driver, order_id=order_id)
    assert applied["item_names"] == [f"Gundam RX-78-2 MG {marker}", "figure 2"]
    assert (applied["billed_total"], applied["paid_total"]) == (0, 0)  # nothing billed before the estimate

    estimated = await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800, "service_fee": 500})
    billed = sum(b["total"] for b in estimated["billings"] if b["status"] != "canceled")
    await driver.wait_for(order_id, lambda v: v["version"] >= estimated["version"], "the estimate in the read model")
    [row] = await staff_list(driver, order_id=order_id)
    assert row["billed_total"] == billed > 0
    assert row["paid_total"] == 0
    assert row["customer_id"] == driver.customer_id

    paid = await driver.pay(order_id, 1)
    await driver.wait_for(order_id, lambda v: v["version"] >= paid["version"], "the payment in the read model")
    [row] = await staff_list(driver, order_id=order_id)
    assert row["paid_total"] == paid["paid_total"] == billed
