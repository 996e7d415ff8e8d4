"""Every bad input is a clear problem response and changes nothing (docs/operations.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.services.deposits.conftest import YESTERDAY, Caller, Ledger, pay_in, to_bank

pytestmark = pytest.mark.stack

BAD_AMOUNTS: list[Any] = [0, -100, 12.5, "100", True, None, 10**12, [100]]


def bodies(amount: Any) -> dict[str, dict[str, Any]]:
    return {
        "/v1/deposit/pay-in-reports": {"amount": amount, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        "/v1/deposit/paypal/orders": {"amount": amount},
        "/v1/deposit/withdrawals": to_bank(amount),
    }


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
async def test_an_amount_that_is_not_a_positive_integer_of_yen_is_a_422_and_changes_nothing(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, amount: Any
) -> None:
    await pay_in(http, staff, customer, 1000)
    for path, body in bodies(amount).items():
        response = await http.post(path, json=body, headers=customer.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/validation-error") and "amount" in problem["detail"]
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)
    assert len(await ledger.transfers(customer.id)) == 1
    assert (await http.get("/v1/deposit/pay-in-reports", headers=customer.headers)).json()[0]["amount"] == 1000


@pytest.mark.parametrize("amount", [0, -5, 1.5, "900"], ids=repr)
async def test_staff_cannot_confirm_a_report_with_a_bad_amount(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, amount: Any
) -> None:
    report = await http.post(
        "/v1/deposit/pay-in-reports",
        json={"amount": 900, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        headers=customer.headers,
    )
    response = await http.post(
        f"/v1/staff/pay-in-reports/{report.json()['id']}/confirm", json={"amount": amount, "note": "x"}, headers=staff
    )
    assert response.status_code == 422
    assert await ledger.deposit(customer.id) == (0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        {"amount": 100, "transfer_date": "not-a-date", "sender_name": "ヤマダ"},
        {"amount": 100, "transfer_date": "2999-01-01", "sender_name": "ヤマダ"},
        {"amount": 100, "transfer_date": YESTERDAY, "sender_name": "  "},
        {"amount": 100, "transfer_date": YESTERDAY, "sender_name": "ヤマダ", "surprise": 1},
    ],
)
async def test_a_malformed_pay_in_report_is_a_422_naming_the_field(
    http: httpx.AsyncClient, customer: Caller, body: dict[str, Any]
) -> None:
    response = await http.post("/v1/deposit/pay-in-reports", json=body, headers=customer.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"]
    assert (await http.get("/v1/deposit/pay-in-reports", headers=customer.headers)).json() == []


async def test_a_body_that_is_not_json_is_a_422_problem(http: httpx.AsyncClient, customer: Caller) -> None:
    response = await http.post(
        "/v1/deposit/withdrawals",
        content=b"{not json",
        headers={**customer.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_rejection_needs_a_reason(http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]) -> None:
    report = await http.post(
        "/v1/deposit/pay-in-reports",
        json={"amount": 900, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        headers=customer.headers,
    )
    url = f"/v1/staff/pay-in-reports/{report.json()['id']}/reject"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        assert (await http.post(url, json=body, headers=staff)).status_code == 422
    assert (await http.get(f"/v1/staff/pay-in-reports/{report.json()['id']}", headers=staff)).json()["status"] == (
        "pending"
    )


async def test_an_overlong_idempotency_key_is_refused(http: httpx.AsyncClient, customer: Caller) -> None:
    response = await http.post(
        "/v1/deposit/pay-in-reports",
        json={"amount": 100, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        headers=customer.with_key("k" * 201),
    )
    assert response.status_code == 422 and response.json()["type"].endswith("/invalid-idempotency-key")
    assert (await http.get("/v1/deposit/pay-in-reports", headers=customer.headers)).json() == []
