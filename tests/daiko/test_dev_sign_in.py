"""Development sign-in: any customer id or staff, a token the services accept; absent in production."""

from __future__ import annotations

import httpx
import pytest

from daiko.dev_sign_in import dev_sign_in_routers
from services.orders.app import build_app
from services.orders.settings import OrdersSettings
from tests.conftest import StackSettings

SIGN_IN = "/api/orders/v1/dev/sign-in"


@pytest.fixture
async def edge(stack: StackSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.edge_port}", timeout=30)


async def test_a_customer_signs_in_by_id_and_sees_their_own_orders(edge: httpx.AsyncClient) -> None:
    async with edge:
        answer = await edge.post(SIGN_IN, json={"role": "customer", "customer_id": "cust-1"})
        assert answer.status_code == 200, answer.text
        token = answer.json()
        assert token["token_type"] == "bearer" and token["expires_in"] > 0
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await edge.get("/api/orders/v1/orders", headers=headers)).status_code == 200
        assert (await edge.get("/api/deposits/v1/deposit", headers=headers)).status_code == 200
        staff_only = await edge.get("/api/orders/v1/staff/halted-orders", headers=headers)
        assert staff_only.status_code == 403


async def test_staff_sign_in_gives_the_staff_role(edge: httpx.AsyncClient) -> None:
    async with edge:
        answer = await edge.post(SIGN_IN, json={"role": "staff", "staff_id": "staff-1"})
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        assert (await edge.get("/api/orders/v1/staff/halted-orders", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin", "customer_id": "cust-1"},
        {"role": "customer"},
        {"role": "customer", "customer_id": ""},
        {"role": "customer", "customer_id": "x" * 101},
        {"role": "staff", "customer_id": "cust-1"},
        {"role": "customer", "customer_id": "cust-1", "role2": "staff"},
    ],
    ids=["unknown-role", "no-id", "empty-id", "long-id", "staff-without-staff-id", "extra-field"],
)
async def test_a_sign_in_that_names_no_valid_identity_is_a_422_problem(
    edge: httpx.AsyncClient, body: dict[str, str]
) -> None:
    async with edge:
        answer = await edge.post(SIGN_IN, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def _production_settings() -> OrdersSettings:
    """Production as far as routing goes (no secrets needed: nothing connects without the app's lifespan)."""
    return OrdersSettings.model_construct(**{**OrdersSettings().model_dump(), "environment": "production"})


def test_production_mounts_no_sign_in_router() -> None:
    assert dev_sign_in_routers(_production_settings()) == []


async def test_in_production_the_sign_in_path_does_not_exist() -> None:
    app = build_app(_production_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as orders:
        answer = await orders.post("/v1/dev/sign-in", json={"role": "staff", "staff_id": "staff-1"})
        assert answer.status_code == 404
        assert "/v1/dev/sign-in" not in (await orders.get("/openapi.json")).json()["paths"]


async def test_outside_production_the_sign_in_is_documented_with_examples() -> None:
    app = build_app(OrdersSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as orders:
        operation = (await orders.get("/openapi.json")).json()["paths"]["/v1/dev/sign-in"]["post"]
    assert operation["operationId"] == "orders.dev_sign_in"
    assert operation["requestBody"]["content"]["application/json"]["examples"]
