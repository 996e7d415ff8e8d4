"""The orders API's trust boundary on the running stack: canonical input, bounded amounts, who staff are, limits.

Each test is an attack that worked before (issue 10): a NUL in a note that
wedged the projection, a 2**80 yen estimate, ``country: "Narnia"``, a staff
body naming the CEO as its actor, 503s under concurrent payments, and no rate
limit on applying.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx
import pytest
from limits import parse

from tests.conftest import StackSettings, bearer, customer_token, staff_token
from tests.services.orders.driver import Driver, billing, purchase_application

pytestmark = pytest.mark.stack


def with_items(**fields: Any) -> dict[str, Any]:
    application = purchase_application(items=1)
    application["items"][0].update(fields)
    return application


def assert_invalid(response: httpx.Response, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    if field is not None:
        assert any(error["field"].startswith(field) for error in problem.get("errors", [])), problem
    return problem


# --------------------------------------------------------------------------- canonical text


async def test_a_customer_note_with_nul_is_refused_and_no_order_is_made(driver: Driver) -> None:
    """It was accepted (201), and the projection then retried forever: JSONB holds no NUL."""
    before = (await driver.http.get("/v1/orders", headers=driver.customer)).json()["orders"]
    response = await driver.http.post(
        "/v1/orders", json={**purchase_application(), "customer_note": "hi\u0000there"}, headers=driver.customer
    )
    assert_invalid(response, "customer_note")
    assert (await driver.http.get("/v1/orders", headers=driver.customer)).json()["orders"] == before


async def test_a_staff_reason_with_a_control_character_is_refused(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    response = await driver.staff_try(order_id, "cancel-order", {"reason": "bad\u001bbyte"})
    assert_invalid(response, "reason")
    assert (await driver.staff_view(order_id))["status"] == "applied"


# --------------------------------------------------------------------------- amounts and countries


@pytest.mark.parametrize("price", [2**80, 2**53])
async def test_a_price_beyond_what_json_carries_exactly_is_a_422(driver: Driver, price: int) -> None:
    """``unit_price_estimate: 2**80`` made a billing of 1.2e24 yen."""
    assert_invalid(
        await driver.http.post("/v1/orders", json=with_items(unit_price_estimate=price), headers=driver.customer)
    )


async def test_an_application_estimated_over_the_order_ceiling_is_a_422(driver: Driver, stack: StackSettings) -> None:
    """Each price may fit, their sum may not: 10,000 x the ceiling is refused, the ceiling itself is taken."""
    over = with_items(quantity=10_000, unit_price_estimate=stack.max_order_total // 10_000 + 1)
    problem = assert_invalid(await driver.http.post("/v1/orders", json=over, headers=driver.customer), "items")
    assert problem["type"].endswith("/order-total-too-large")
    at_ceiling = with_items(quantity=1, unit_price_estimate=stack.max_order_total)
    assert (await driver.http.post("/v1/orders", json=at_ceiling, headers=driver.customer)).status_code == 201


async def test_staff_cannot_bill_an_order_past_its_ceiling(driver: Driver, stack: StackSettings) -> None:
    order_id = await driver.apply(purchase_application(items=1))
    response = await driver.staff_try(
        order_id, "estimate", {"domestic_shipping": stack.max_order_total, "service_fee": 500}
    )
    assert response.status_code == 422, response.text
    assert "ceiling" in response.json()["detail"]
    assert (await driver.staff_view(order_id))["billings"] == []


@pytest.mark.parametrize("country", ["Narnia", "XX", "EU", "Frankreich"])
async def test_a_country_that_is_not_iso_3166_1_is_a_422(driver: Driver, country: str) -> None:
    application = purchase_application()
    application["delivery_address"]["country"] = country
    assert_invalid(await driver.http.post("/v1/orders", json=application, headers=driver.customer), "delivery_address")


@pytest.mark.parametrize(("given", "stored"), [("FR", "FR"), ("fra", "FR"), ("Japan", "JP"), ("de", "DE")])
async def test_a_country_is_stored_as_its_alpha_2_code(driver: Driver, given: str, stored: str) -> None:
    application = purchase_application()
    application["delivery_address"]["country"] = given
    order_id = await driver.apply(application)
    assert (await driver.view(order_id))["delivery_address"]["country"] == stored


# --------------------------------------------------------------------------- staff identity


async def test_a_staff_body_naming_an_actor_is_refused(driver: Driver) -> None:
    """``"actor": "the-ceo"`` was written into the order's history over the token's subject."""
    order_id = await driver.apply(purchase_application())
    response = await driver.staff_try(order_id, "estimate", {"domestic_shipping": 800, "actor": "the-ceo"})
    assert_invalid(response, "actor")
    view = await driver.staff_view(order_id)
    assert view["billings"] == [] and all(entry["actor"] != "staff:the-ceo" for entry in view["history"])


async def test_the_history_names_the_staff_token_subject(driver: Driver, stack: StackSettings) -> None:
    order_id = await driver.apply(purchase_application())
    staff_id = f"staff-{uuid.uuid4().hex[:8]}"
    response = await driver.http.post(
        f"/v1/staff/orders/{order_id}/estimate",
        json={"domestic_shipping": 800},
        headers=bearer(staff_token(stack, staff_id)),
    )
    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["actor"] == f"staff:{staff_id}"


async def test_the_staff_openapi_bodies_have_no_actor(orders_http: httpx.AsyncClient) -> None:
    schemas = (await orders_http.get("/openapi.json")).json()["components"]["schemas"]
    assert "actor" not in schemas["EstimateRequest"]["properties"]
    assert "actor" not in schemas["StaffCancelRequest"]["properties"]


# --------------------------------------------------------------------------- limits


async def test_concurrent_payments_of_one_billing_never_answer_503(driver: Driver) -> None:
    """100 concurrent payments of one billing answered 51 x 503; now one is charged, the rest 409 or 429."""
    order_id = await driver.apply(purchase_application(items=1))
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    pay = {"billing_seq": 1, "revision": billing(await driver.view(order_id), 1)["revision"]}
    answers = await asyncio.gather(*(driver.customer_op(order_id, "payments", pay) for _ in range(100)))
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {202, 409, 429}, sorted(answer.status_code for answer in answers)
    assert 202 in statuses
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in answers if answer.status_code == 429)
    assert_busy_answers_say_when(answers)


async def test_concurrent_staff_operations_on_one_order_answer_409_with_retry_after_never_503(driver: Driver) -> None:
    """Staff are not rate limited: 100 re-estimates at once meet Temporal's contention on the one execution."""
    order_id = await driver.apply(purchase_application(items=1))
    answers = await asyncio.gather(
        *(driver.staff_try(order_id, "estimate", {"domestic_shipping": 800 + n}) for n in range(100))
    )
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {200, 409}, sorted(answer.status_code for answer in answers)
    assert 200 in statuses
    assert_busy_answers_say_when(answers)


def assert_busy_answers_say_when(answers: list[httpx.Response]) -> None:
    for answer in answers:
        if answer.status_code == 409 and answer.json()["type"].endswith("/order-busy"):
            assert int(answer.headers["retry-after"]) >= 1, answer.headers


async def test_one_customer_applying_past_the_limit_gets_429_with_retry_after(stack: StackSettings) -> None:
    """300 orders in 4 s by one customer were all accepted. Invalid bodies count too: the limit comes first."""
    allowed = parse(stack.rate_limit_customer).amount
    customer = bearer(customer_token(stack, f"cust-{uuid.uuid4().hex[:12]}"))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.orders_port}", timeout=30) as http:
        answers = [(await http.post("/v1/orders", json={}, headers=customer)).status_code for _ in range(allowed)]
        assert answers == [422] * allowed
        refused = await http.post("/v1/orders", json=purchase_application(), headers=customer)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        other = bearer(customer_token(stack, f"cust-{uuid.uuid4().hex[:12]}"))
        assert (await http.post("/v1/orders", json={}, headers=other)).status_code == 422  # others are unaffected


async def test_one_address_applying_past_the_limit_gets_429(stack: StackSettings) -> None:
    allowed = parse(stack.rate_limit_ip).amount
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{stack.orders_port}", timeout=30
    ) as http:
        for n in range(allowed):  # a new customer each time: only the address is over its limit
            customer = bearer(customer_token(stack, f"cust-ip-{n}-{uuid.uuid4().hex[:8]}"))
            assert (await http.post("/v1/orders", json={}, headers=customer)).status_code == 422
        customer = bearer(customer_token(stack, f"cust-{uuid.uuid4().hex[:12]}"))
        refused = await http.post("/v1/orders", json={}, headers=customer)
        assert refused.status_code == 429, refused.text
        assert "address" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1


# --------------------------------------------------------------------------- idempotent payments


async def test_a_payment_retried_with_its_idempotency_key_is_answered_once(driver: Driver) -> None:
    """Stripe's semantics, as on deposits: same key and body replays, another body is a 422."""
    order_id = await driver.apply(purchase_application(items=1))
    await driver.staff_op(order_id, "estimate", {"domestic_shipping": 800})
    pay = {"billing_seq": 1, "revision": billing(await driver.view(order_id), 1)["revision"]}
    headers = {**driver.customer, "Idempotency-Key": f"pay-{uuid.uuid4()}"}
    first = await driver.http.post(f"/v1/orders/{order_id}/payments", json=pay, headers=headers)
    assert first.status_code == 202, first.text
    again = await driver.http.post(f"/v1/orders/{order_id}/payments", json=pay, headers=headers)
    assert again.status_code == 202 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()  # the first answer, not a 409 "being charged"
    other = await driver.http.post(f"/v1/orders/{order_id}/payments", json={**pay, "billing_seq": 2}, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
