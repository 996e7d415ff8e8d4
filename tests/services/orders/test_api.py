"""The orders HTTP API on the running stack: applying, idempotency, validation, access, lists, OpenAPI."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.orders.db import AppliedOrder, OrderRecord
from tests.conftest import StackSettings, bearer, customer_token
from tests.services.orders.driver import Driver, forward_application, purchase_application

pytestmark = pytest.mark.stack


# --------------------------------------------------------------------------- applying


async def test_an_application_starts_an_order_readable_at_once(driver: Driver) -> None:
    response = await driver.http.post("/v1/orders", json=purchase_application(), headers=driver.customer)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "applied"
    assert response.headers["location"] == body["href"] == f"/v1/orders/{body['order_id']}"
    assert body["order_id"].startswith("P")

    view = await driver.view(body["order_id"])  # no waiting: from the workflow if the read model lags
    assert view["order_id"] == body["order_id"]
    assert view["customer_id"] == driver.customer_id
    assert view["policy"]["payment_due_after"] == "P7D"  # R5 duration captured from settings


async def test_until_the_read_model_has_the_order_its_details_come_from_the_workflow(
    driver: Driver, settings: StackSettings, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")
    async with db_sessions["orders"]() as session, session.begin():  # back to "the row has not landed yet"
        await session.execute(delete(OrderRecord).where(OrderRecord.order_id == order_id))

    view = await driver.view(order_id)
    assert (view["order_id"], view["status"]) == (order_id, "applied")
    stranger = bearer(customer_token(settings, f"cust-{uuid.uuid4().hex[:12]}"))
    assert (await driver.http.get(f"/v1/orders/{order_id}", headers=stranger)).status_code == 404

    estimated = await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    async with db_sessions["orders"]() as session:
        row = await session.get(OrderRecord, order_id)
    assert row is not None and row.version == estimated["version"]  # the next transition writes it again


async def test_replaying_an_application_with_the_same_idempotency_key_creates_one_order(
    driver: Driver, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    key = f"apply-{uuid.uuid4()}"
    headers = {**driver.customer, "Idempotency-Key": key}
    application = purchase_application()
    first = await driver.http.post("/v1/orders", json=application, headers=headers)
    assert first.status_code == 201
    replays = await asyncio.gather(
        *(driver.http.post("/v1/orders", json=application, headers=headers) for _ in range(4))
    )
    assert {r.status_code for r in replays} == {201}  # a replay answers as the first answer did
    assert {r.headers["idempotent-replayed"] for r in replays} == {"true"}
    assert {r.json()["order_id"] for r in replays} == {first.json()["order_id"]}

    async with db_sessions["orders"]() as session:
        applications = await session.scalar(
            select(func.count()).select_from(AppliedOrder).where(AppliedOrder.customer_id == driver.customer_id)
        )
    assert applications == 1
    # The list reads the read model only (the order's view may still come from its workflow): poll the list.
    deadline = time.monotonic() + 60
    while not (listed := await my_order_ids(driver)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert listed == [first.json()["order_id"]]


async def my_order_ids(driver: Driver) -> list[str]:
    response = await driver.http.get("/v1/orders", headers=driver.customer)
    return [o["order_id"] for o in response.json()["orders"]]


async def test_concurrent_first_attempts_with_one_idempotency_key_create_one_order(driver: Driver) -> None:
    headers = {**driver.customer, "Idempotency-Key": f"apply-{uuid.uuid4()}"}
    application = forward_application()
    responses = await asyncio.gather(
        *(driver.http.post("/v1/orders", json=application, headers=headers) for _ in range(5))
    )
    # Each one either ran first, replayed the first's answer, or met it still in flight (409, retry later).
    assert {r.status_code for r in responses} <= {201, 409} and 201 in {r.status_code for r in responses}
    in_flight = [r for r in responses if r.status_code == 409]
    assert all(r.headers["retry-after"] and r.json()["type"].endswith("/retry") for r in in_flight)
    assert len({r.json()["order_id"] for r in responses if r.status_code == 201}) == 1
    retried = await driver.http.post("/v1/orders", json=application, headers=headers)
    assert retried.status_code == 201
    assert retried.json()["order_id"] == next(r for r in responses if r.status_code == 201).json()["order_id"]


async def test_an_idempotency_key_reused_for_another_application_is_refused(driver: Driver) -> None:
    headers = {**driver.customer, "Idempotency-Key": f"apply-{uuid.uuid4()}"}
    first = await driver.http.post("/v1/orders", json=purchase_application(items=1), headers=headers)
    assert first.status_code == 201
    other = await driver.http.post("/v1/orders", json=purchase_application(items=2), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert other.json()["order_id"] == first.json()["order_id"]


async def test_the_same_idempotency_key_from_two_customers_makes_two_orders(
    driver: Driver, settings: StackSettings
) -> None:
    key = f"apply-{uuid.uuid4()}"
    mine = await driver.http.post(
        "/v1/orders", json=purchase_application(), headers={**driver.customer, "Idempotency-Key": key}
    )
    theirs = await driver.http.post(
        "/v1/orders",
        json=purchase_application(),
        headers={**bearer(customer_token(settings, f"cust-{uuid.uuid4().hex[:12]}")), "Idempotency-Key": key},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["order_id"] != theirs.json()["order_id"]


# --------------------------------------------------------------------------- validation


def _with(change: dict[str, Any]) -> dict[str, Any]:
    application = purchase_application(items=1)
    item = application["items"][0]
    for path, value in change.items():
        if path.startswith("items.0."):
            item[path.removeprefix("items.0.")] = value
        elif path.startswith("delivery_address."):
            application["delivery_address"][path.removeprefix("delivery_address.")] = value
        else:
            application[path] = value
    return application


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items.0.quantity": 0}, "items.0.quantity"),
        ({"items.0.unit_price_estimate": 12.5}, "items.0.unit_price_estimate"),
        ({"items.0.unit_price_estimate": "1200"}, "items.0.unit_price_estimate"),
        ({"items.0.name": ""}, "items.0.name"),
        ({"items": []}, "items"),
        ({"items": purchase_application(items=1)["items"] * 51}, "items"),
        ({"service_type": "gift"}, "service_type"),
        ({"payment_plan": "monthly"}, "payment_plan"),
        ({"delivery_address.phone": "call me"}, "delivery_address.phone"),
        ({"delivery_address.address_lines": []}, "delivery_address.address_lines"),
        ({"delivery_address.country": ""}, "delivery_address.country"),
        ({"delivery_address.country": "Narnia"}, "delivery_address.country"),  # a real ISO 3166 country only
        ({"coupon": "FREE"}, "coupon"),
    ],
)
async def test_an_invalid_application_is_a_422_problem_naming_the_field(
    driver: Driver, change: dict[str, Any], field: str
) -> None:
    response = await driver.http.post("/v1/orders", json=_with(change), headers=driver.customer)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422
    assert field in [error["field"] for error in problem["errors"]]
    assert field in problem["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/v1/orders", "not json", ""),
        ("post", "/v1/orders/{order}/payments", {"billing_seq": "1"}, "billing_seq"),
        ("post", "/v1/orders/{order}/payments", {"billing_seq": 3}, "billing_seq"),
        ("post", "/v1/orders/{order}/payments", {}, "billing_seq"),
        ("post", "/v1/orders/{order}/reception-report", {"received_fine": True, "problems": "x"}, ""),
        ("post", "/v1/orders/{order}/reception-report", {"received_fine": "yes"}, "received_fine"),
        ("post", "/v1/orders/{order}/cancel", {"reason": 5}, "reason"),
        ("get", "/v1/orders?state=lost", None, "query.state"),
        ("get", "/v1/orders?limit=0", None, "query.limit"),
        ("get", "/v1/orders?cursor=garbage", None, "query.cursor"),
        ("get", f"/v1/orders/{'x' * 101}", None, "path.order_id"),  # contracts.ids.ID_MAX_LENGTH, as everywhere
    ],
)
async def test_invalid_requests_are_422_problems(driver: Driver, method: str, path: str, body: Any, field: str) -> None:
    url = path.format(order="P000000-NOSUCHID")
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    response = await driver.http.request(method.upper(), url, headers=driver.customer, **kwargs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field:
        assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("estimate", {"domestic_shipping": 1.5}, "domestic_shipping"),
        ("estimate", {"domestic_shiping": 800}, "domestic_shiping"),  # a typo is caught, not ignored
        ("ship", {"method": "EMS", "carrier": "JP", "tracking_numbers": []}, "tracking_numbers"),
        ("item-arrived", {}, "item_id"),
        ("move-deadline", {"deadline": "payment"}, ""),
        ("resolve-dispute", {"refund_amount": -1, "resolution": "x"}, "refund_amount"),
    ],
)
async def test_invalid_staff_operations_are_422_problems(
    driver: Driver, operation: str, body: dict[str, Any], field: str
) -> None:
    response = await driver.staff_try("P000000-NOSUCHID", operation, body)
    assert response.status_code == 422, response.text
    if field:
        assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_staff_operation_the_order_cannot_take_is_a_409(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    ship = await driver.staff_try(order_id, "ship", {"method": "EMS", "carrier": "JP", "tracking_numbers": ["A1"]})
    assert ship.status_code == 409
    assert ship.json()["type"].endswith("/wrong-order-status")
    forward_only = await driver.staff_try(order_id, "confirm-handling", {"service_fee": 100})
    assert forward_only.status_code == 409
    assert forward_only.json()["type"].endswith("/wrong-service-type")
    no_item = await driver.staff_try(order_id, "estimate", {"unit_prices": {"9": 100}})
    assert no_item.status_code == 409
    assert no_item.json()["type"].endswith("/item-not-found")


# --------------------------------------------------------------------------- who sees what


async def test_another_customers_order_does_not_exist_for_them(driver: Driver, settings: StackSettings) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    stranger = bearer(customer_token(settings, f"cust-{uuid.uuid4().hex[:12]}"))

    assert (await driver.http.get(f"/v1/orders/{order_id}", headers=stranger)).status_code == 404
    for path, body in (
        ("payments", {"billing_seq": 1}),
        ("cancel", {}),
        ("reception-report", {"received_fine": True}),
    ):
        response = await driver.http.post(f"/v1/orders/{order_id}/{path}", json=body, headers=stranger)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await driver.http.get("/v1/orders", headers=stranger)).json()["orders"] == []
    view = await driver.view(order_id)
    assert view["status"] == "awaiting_payment"  # untouched


async def test_an_order_that_does_not_exist_is_a_404(driver: Driver) -> None:
    response = await driver.http.get("/v1/orders/P000000-NOSUCHID", headers=driver.customer)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
    staff = await driver.staff_try("P000000-NOSUCHID", "estimate", {})
    assert staff.status_code == 404


async def test_tokens_and_roles_are_checked(driver: Driver, orders_http: httpx.AsyncClient) -> None:
    assert (await orders_http.get("/v1/orders")).status_code == 401
    bad = await orders_http.get("/v1/orders", headers=bearer("not-a-jwt"))
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"
    assert (await orders_http.get("/v1/staff/orders", headers=driver.customer)).status_code == 403
    unknown = await driver.staff_try("P000000-NOSUCHID", "estimate", {})
    assert unknown.status_code == 404  # staff token: allowed, the order does not exist
    customer_only = await orders_http.post("/v1/orders", json=purchase_application(), headers=driver.staff)
    assert customer_only.status_code == 403
    too_long = bearer(customer_token(driver.settings, "c" * 101))
    refused = await orders_http.post("/v1/orders", json=purchase_application(), headers=too_long)
    assert refused.status_code == 422  # not a customer id this system can hold: refused at the door, not a 500
    assert refused.json()["type"].endswith("/invalid-token-subject")


# --------------------------------------------------------------------------- lists


async def test_my_orders_are_listed_newest_first_by_tab_a_page_at_a_time(driver: Driver) -> None:
    order_ids = [await driver.apply(purchase_application(items=1)) for _ in range(5)]
    for order_id in order_ids:
        await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")
    canceled = order_ids[1]
    assert (await driver.customer_op(canceled, "cancel", {})).status_code == 200

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await driver.http.get("/v1/orders", params=params, headers=driver.customer)).json()
        assert len(page["orders"]) <= 2
        seen += [o["order_id"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(order_ids))

    ongoing = (await driver.http.get("/v1/orders?state=ongoing", headers=driver.customer)).json()["orders"]
    assert [o["order_id"] for o in ongoing] == [i for i in reversed(order_ids) if i != canceled]
    assert all(o["pending_operations"] for o in ongoing)  # cancel is open before any payment
    assert ongoing[0]["item_count"] == 1
    canceled_tab = (await driver.http.get("/v1/orders?state=canceled", headers=driver.customer)).json()["orders"]
    assert [o["order_id"] for o in canceled_tab] == [canceled]


async def test_staff_list_every_order_filtered_by_customer_status_service_item_and_deadline(driver: Driver) -> None:
    purchase = await driver.apply(purchase_application())
    forward = await driver.apply(forward_application())
    await driver.staff_op(purchase, "estimate", {"domestic_shipping": 800})  # payment deadline in 7 days (R5)
    await driver.wait_for(forward, lambda v: v["version"] >= 1, "read model row")

    async def staff_list(**params: Any) -> list[str]:
        response = await driver.http.get(
            "/v1/staff/orders", params={"customer_id": driver.customer_id, **params}, headers=driver.staff
        )
        assert response.status_code == 200, response.text
        return [o["order_id"] for o in response.json()["orders"]]

    assert await staff_list() == [forward, purchase]
    assert await staff_list(status="awaiting_payment") == [purchase]
    assert await staff_list(status=["applied", "awaiting_payment"]) == [forward, purchase]
    assert await staff_list(service_type="forward") == [forward]
    soon = datetime.now(UTC) + timedelta(days=8)
    assert await staff_list(deadline_before=soon.isoformat()) == [purchase]
    assert await staff_list(deadline_after=soon.isoformat()) == [forward]  # no estimate yet: due in 14 days (R14)
    assert await staff_list(deadline_after=datetime.now(UTC).isoformat()) == [forward, purchase]

    assert await staff_list(item="KNIFE") == [forward]  # part of an item's name, any case
    assert await staff_list(item="figure 1") == [purchase]
    assert await staff_list(item="%") == []  # taken literally, not as a wildcard
    too_long = await driver.http.get("/v1/staff/orders", params={"item": "x" * 101}, headers=driver.staff)
    assert too_long.status_code == 422

    everyone = await driver.http.get("/v1/staff/orders", params={"limit": 1}, headers=driver.staff)
    assert len(everyone.json()["orders"]) == 1 and everyone.json()["next_cursor"]
    assert (await driver.staff_view(forward))["service_type"] == "forward"


# --------------------------------------------------------------------------- documentation


async def test_openapi_documents_every_operation_with_its_examples_and_problems(orders_http: httpx.AsyncClient) -> None:
    from workflows import STAFF_OPERATIONS

    spec = (await orders_http.get("/openapi.json")).json()
    paths = spec["paths"]
    for operation in STAFF_OPERATIONS:
        route = paths[f"/v1/staff/orders/{{order_id}}/{operation.replace('_', '-')}"]["post"]
        assert {"409", "422", "404"} <= set(route["responses"])
        assert route["requestBody"]["content"]["application/json"].get("examples"), operation
    apply = paths["/v1/orders"]["post"]
    assert {"201", "409", "422", "503"} <= set(apply["responses"])
    assert spec["components"]["schemas"]["ApplicationIn"]["examples"]
    assert "409" in paths["/v1/orders/{order_id}/cancel"]["post"]["responses"]
    details = paths["/v1/orders/{order_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert details["schema"]["$ref"].endswith("/OrderDetails")  # the R1 view and its message history
    assert "messages" in spec["components"]["schemas"]["OrderDetails"]["properties"]
    assert details["example"]["messages"]["href"].endswith("/messages")
