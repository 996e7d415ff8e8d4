"""When Temporal or PostgreSQL cannot be reached, the API says so (503 problem), and reads keep working.

The orders app runs in-process here, configured with unreachable addresses,
so nothing of the shared stack has to be stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.orders.app import build_app
from services.orders.db import AppliedOrder
from services.orders.settings import OrdersSettings
from tests.conftest import StackSettings, bearer, customer_token, staff_token
from tests.services.orders.driver import Driver, purchase_application

pytestmark = pytest.mark.stack

UNREACHABLE = "127.0.0.1:1"


@asynccontextmanager
async def orders_app(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = OrdersSettings(deposit_bridge_enabled=False, temporal_rpc_timeout_seconds=3, **overrides)  # type: ignore[arg-type]
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
            yield http


async def test_without_temporal_applying_is_a_503_and_the_order_details_still_load(driver: Driver) -> None:
    order_id = await driver.apply(purchase_application())
    await driver.wait_for(order_id, lambda v: v["version"] >= 1, "read model row")

    async with orders_app(temporal_address=UNREACHABLE) as http:
        applied = await http.post("/v1/orders", json=purchase_application(), headers=driver.customer)
        assert applied.status_code == 503, applied.text
        assert applied.headers["content-type"] == "application/problem+json"
        assert applied.json()["type"].endswith("/temporal-unavailable")

        view = await http.get(f"/v1/orders/{order_id}", headers=driver.customer)  # the read model needs no Temporal
        assert view.status_code == 200
        assert view.json()["order_id"] == order_id

        cancel = await http.post(f"/v1/orders/{order_id}/cancel", json={}, headers=driver.customer)
        assert cancel.status_code == 503
        staff = await http.post(
            f"/v1/staff/orders/{order_id}/estimate", json={"domestic_shipping": 1}, headers=driver.staff
        )
        assert staff.status_code == 503


async def test_an_application_without_a_key_that_could_not_start_leaves_no_order_behind(
    driver: Driver, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    async with orders_app(temporal_address=UNREACHABLE) as http:
        applied = await http.post("/v1/orders", json=purchase_application(), headers=driver.customer)
        assert applied.status_code == 503, applied.text
        orders = await http.get("/v1/orders", headers=driver.customer)
    async with db_sessions["orders"]() as session:
        reserved = await session.scalar(
            select(func.count()).select_from(AppliedOrder).where(AppliedOrder.customer_id == driver.customer_id)
        )
    assert reserved == 0, "a 503 without an Idempotency-Key must not leave a phantom application"
    assert orders.json()["orders"] == []


async def test_without_the_database_requests_are_a_503_not_a_500(settings: StackSettings) -> None:
    async with orders_app(postgres_port=1) as http:
        customer = bearer(customer_token(settings, "cust-nodb"))
        for method, path, body, headers in (
            ("GET", "/v1/orders", None, customer),
            ("GET", "/v1/orders/P000000-NOSUCHID", None, customer),
            ("POST", "/v1/orders", purchase_application(), customer),
            ("GET", "/v1/staff/orders", None, bearer(staff_token(settings))),
        ):
            response = await http.request(method, path, json=body, headers=headers)
            assert response.status_code == 503, f"{method} {path}: {response.text}"
            assert response.json()["type"].endswith("/database-unavailable")
