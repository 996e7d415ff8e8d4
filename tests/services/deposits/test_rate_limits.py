"""The deposit's creating routes are rate limited per customer on the running stack: 429 with ``Retry-After``."""

from __future__ import annotations

import httpx
import pytest
from limits import parse

from daiko.settings import DaikoSettings
from tests.services.deposits.conftest import YESTERDAY, Caller, to_bank

pytestmark = pytest.mark.stack


async def test_one_customer_past_the_limit_gets_429_on_every_creating_route(
    http: httpx.AsyncClient, customer: Caller, stack: DaikoSettings
) -> None:
    """Invalid bodies count too (the limit is checked first), so the flood costs no database row."""
    allowed = parse(stack.rate_limit_customer).amount
    for _ in range(allowed):
        response = await http.post("/v1/deposit/pay-in-reports", json={}, headers=customer.headers)
        assert response.status_code == 422, response.text
    routes = {
        "/v1/deposit/pay-in-reports": {"amount": 1000, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        "/v1/deposit/paypal/orders": {"amount": 1000},
        "/v1/deposit/withdrawals": to_bank(1000),
    }
    for path, body in routes.items():
        refused = await http.post(path, json=body, headers=customer.headers)
        assert refused.status_code == 429, (path, refused.text)
        assert refused.json()["type"].endswith("/rate-limited")
        assert int(refused.headers["retry-after"]) >= 1
    assert (await http.get("/v1/deposit", headers=customer.headers)).status_code == 200  # reading is not limited
