"""The deposit page: balance, held, available, and the history with its running balance (R9)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import StackSettings
from tests.services.deposits.conftest import Caller, Ledger, new_customer, pay_in, to_bank

pytestmark = pytest.mark.stack


async def test_a_new_customer_has_an_empty_deposit(http: httpx.AsyncClient, customer: Caller) -> None:
    response = await http.get("/v1/deposit", headers=customer.headers)
    assert response.status_code == 200
    assert response.json() == {"customer_id": customer.id, "currency": "JPY", "balance": 0, "held": 0, "available": 0}
    assert (await http.get("/v1/deposit/transactions", headers=customer.headers)).json() == {
        "items": [],
        "next_before": None,
    }


async def test_the_history_is_newest_first_with_a_running_balance_and_pages(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    for amount in (1000, 2000, 3000):
        await pay_in(http, staff, customer, amount)
    withdrawal = await http.post(
        "/v1/deposit/withdrawals",
        json=to_bank(500),
        headers=customer.headers,
    )
    assert withdrawal.status_code == 201

    page1 = (await http.get("/v1/deposit/transactions", params={"limit": 2}, headers=customer.headers)).json()
    page2 = (
        await http.get(
            "/v1/deposit/transactions", params={"limit": 2, "before": page1["next_before"]}, headers=customer.headers
        )
    ).json()
    items = page1["items"] + page2["items"]
    assert [
        (i["kind"], i["balance_change"], i["held_change"], i["balance_after"], i["available_after"]) for i in items
    ] == [
        ("withdrawal_hold", 0, 500, 6000, 5500),
        ("bank_pay_in", 3000, 0, 6000, 6000),
        ("bank_pay_in", 2000, 0, 3000, 3000),
        ("bank_pay_in", 1000, 0, 1000, 1000),
    ]
    ids = [i["id"] for i in items]
    assert ids == sorted(ids, reverse=True)
    last = await http.get(
        "/v1/deposit/transactions", params={"limit": 2, "before": page2["next_before"]}, headers=customer.headers
    )
    assert last.json() == {"items": [], "next_before": None}


async def test_a_customer_sees_only_their_own_deposit(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], stack: StackSettings
) -> None:
    await pay_in(http, staff, customer, 4000)
    other = new_customer(stack)
    assert (await http.get("/v1/deposit", headers=other.headers)).json()["balance"] == 0
    assert (await http.get("/v1/deposit/transactions", headers=other.headers)).json()["items"] == []


async def test_a_paging_cursor_beyond_any_transaction_id_is_a_422_not_a_500(
    http: httpx.AsyncClient, customer: Caller
) -> None:
    response = await http.get("/v1/deposit/transactions", params={"before": 2**70}, headers=customer.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_staff_see_any_customers_deposit_and_history_but_not_through_customer_routes(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    await pay_in(http, staff, customer, 4000)
    deposit = await http.get(f"/v1/staff/customers/{customer.id}/deposit", headers=staff)
    assert deposit.json()["balance"] == 4000
    history = await http.get(f"/v1/staff/customers/{customer.id}/deposit/transactions", headers=staff)
    assert [i["amount"] for i in history.json()["items"]] == [4000]
    assert (await http.get("/v1/deposit", headers=staff)).status_code == 403
    assert (await http.get(f"/v1/staff/customers/{customer.id}/deposit", headers=customer.headers)).status_code == 403


async def test_requests_without_a_valid_token_are_401_problems(http: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        response = await http.get("/v1/deposit", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_ledger_audit_finds_every_balance_equal_to_its_transfers(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    await pay_in(http, staff, customer, 4000)
    mine = await http.get("/v1/staff/ledger/audit", params={"customer_id": customer.id}, headers=staff)
    assert mine.json()["ok"] is True and mine.json()["transfers"] == 1
    whole = (await http.get("/v1/staff/ledger/audit", headers=staff)).json()
    assert whole["debits_posted"] == whole["credits_posted"]
    assert whole["debits_pending"] == whole["credits_pending"]


async def test_the_openapi_document_has_examples_and_problem_responses(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/deposit",
        "/v1/deposit/transactions",
        "/v1/deposit/pay-in-reports",
        "/v1/deposit/paypal/orders",
        "/v1/deposit/paypal/orders/{order_id}/capture",
        "/v1/deposit/paypal/webhook",
        "/v1/deposit/withdrawals",
        "/v1/deposit/withdrawals/{withdrawal_id}/cancel",
        "/v1/staff/withdrawals/{withdrawal_id}/destination",
        "/v1/staff/pay-in-reports/{report_id}/confirm",
        "/v1/staff/withdrawals/{withdrawal_id}/reject",
    ):
        assert path in paths, path
    confirm = paths["/v1/deposit/withdrawals"]["post"]
    assert "application/problem+json" in confirm["responses"]["409"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in confirm["parameters"])
    schemas = spec["components"]["schemas"]
    for method in ("JapaneseBankWithdrawalIn", "IbanWithdrawalIn", "PayPalWithdrawalIn"):
        assert schemas[method]["examples"], method
    body = confirm["requestBody"]["content"]["application/json"]["schema"]
    assert body["discriminator"]["propertyName"] == "method"
    assert set(body["discriminator"]["mapping"]) == {"japanese_bank", "iban", "paypal"}
