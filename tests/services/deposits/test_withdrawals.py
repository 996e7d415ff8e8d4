"""R9 withdrawal requests: held at once, paid out or released by staff, bank details only ever masked."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.services.deposits.conftest import Caller, Ledger, bank_account, pay_in, to_bank

pytestmark = pytest.mark.stack


async def request(http: httpx.AsyncClient, customer: Caller, amount: int, **headers: str) -> httpx.Response:
    return await http.post(
        "/v1/deposit/withdrawals",
        json=to_bank(amount),
        headers={**customer.headers, **headers},
    )


async def test_r9_a_withdrawal_request_holds_its_amount_at_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    response = await request(http, customer, 3000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["withdrawal"]["status"] == "pending"
    assert body["deposit"] == {
        "customer_id": customer.id,
        "currency": "JPY",
        "balance": 10000,
        "held": 3000,
        "available": 7000,
    }
    assert (await http.get("/v1/deposit", headers=customer.headers)).json()["available"] == 7000
    requested = await ledger.events(customer.id, "deposit.withdrawal_requested")
    assert [(e.data["withdrawal_id"], e.data["amount"], e.data["available"]) for e in requested] == [
        (body["withdrawal"]["id"], 3000, 7000)
    ]
    await ledger.assert_consistent(customer.id)


async def test_a_withdrawal_over_the_available_balance_is_refused(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 5000)
    assert (await request(http, customer, 4000)).status_code == 201
    refused = await request(http, customer, 1001)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/insufficient-funds")
    assert (problem["available"], problem["requested"], problem["shortfall"]) == (1000, 1001, 1)
    assert await ledger.deposit(customer.id) == (5000, 4000, 1000)
    assert len(await ledger.events(customer.id, "deposit.withdrawal_requested")) == 1


async def test_staff_confirming_a_withdrawal_pays_it_out_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    withdrawal = (await request(http, customer, 3000)).json()["withdrawal"]
    url = f"/v1/staff/withdrawals/{withdrawal['id']}/confirm"
    first = await http.post(url, json={"note": "paid, bank ref 8812"}, headers=staff)
    again = await http.post(url, json={}, headers=staff)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["withdrawal"]["status"] == "paid"
    assert again.json()["deposit"]["balance"] == 7000
    assert await ledger.deposit(customer.id) == (7000, 0, 7000)
    assert len(await ledger.events(customer.id, "deposit.withdrawal_paid")) == 1
    rejected = await http.post(f"/v1/staff/withdrawals/{withdrawal['id']}/reject", json={"reason": "x"}, headers=staff)
    assert rejected.status_code == 409 and rejected.json()["type"].endswith("/withdrawal-paid")
    kinds = [(t.kind, t.phase) for t in await ledger.transfers(customer.id)]
    assert kinds == [("bank_pay_in", "posted"), ("withdrawal_hold", "pending"), ("withdrawal_paid", "post_pending")]
    await ledger.assert_consistent(customer.id)


async def test_staff_rejecting_a_withdrawal_releases_the_hold(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    withdrawal = (await request(http, customer, 3000)).json()["withdrawal"]
    url = f"/v1/staff/withdrawals/{withdrawal['id']}/reject"
    rejected = await http.post(url, json={"reason": "account holder name does not match"}, headers=staff)
    assert rejected.status_code == 200
    assert rejected.json()["withdrawal"]["reject_reason"] == "account holder name does not match"
    assert rejected.json()["deposit"]["available"] == 10000
    assert (await http.post(url, json={"reason": "again"}, headers=staff)).status_code == 200
    confirmed = await http.post(f"/v1/staff/withdrawals/{withdrawal['id']}/confirm", json={}, headers=staff)
    assert confirmed.status_code == 409 and confirmed.json()["type"].endswith("/withdrawal-rejected")
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)
    assert len(await ledger.events(customer.id, "deposit.withdrawal_rejected")) == 1
    await ledger.assert_consistent(customer.id)


async def test_bank_details_are_masked_in_every_answer_and_event(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    created = await request(http, customer, 1000)
    wid = created.json()["withdrawal"]["id"]
    answers = [
        created,
        await http.get("/v1/deposit/withdrawals", headers=customer.headers),
        await http.get(f"/v1/deposit/withdrawals/{wid}", headers=customer.headers),
        await http.get("/v1/staff/withdrawals", params={"customer_id": customer.id}, headers=staff),
        await http.get(f"/v1/staff/withdrawals/{wid}", headers=staff),
        await http.post(f"/v1/staff/withdrawals/{wid}/confirm", json={}, headers=staff),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.text
        assert "1234567" not in answer.text and "ヤマダ タロウ" not in answer.text
    assert created.json()["withdrawal"]["bank_account"] == {
        "bank_name": "三菱UFJ銀行",
        "branch": "渋谷支店",
        "account_type": "ordinary",
        "account_number": "****4567",
        "holder_name": "ヤ***",
    }
    for event in await ledger.events(customer.id):
        assert "1234567" not in event.model_dump_json()
    stored = await ledger.count(
        "SELECT count(*) FROM withdrawals WHERE id = :id"
        " AND position('1234567' in encode(sealed_destination, 'escape')) = 0",
        id=wid,
    )
    assert stored == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_number", "123456"),
        ("account_number", "12345678"),
        ("account_number", "12-34-56x"),
        ("account_number", 1234567),
        ("account_type", "bitcoin"),
        ("bank_name", ""),
        ("branch", "   "),
        ("holder_name", "a\x00b"),
    ],
)
async def test_invalid_bank_details_are_a_422_naming_the_field_and_hold_nothing(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, field: str, value: object
) -> None:
    await pay_in(http, staff, customer, 1000)
    response = await http.post(
        "/v1/deposit/withdrawals",
        json={"amount": 100, "method": "japanese_bank", "bank_account": bank_account(**{field: value})},
        headers=customer.headers,
    )
    assert response.status_code == 422
    assert f"bank_account.{field}" in response.json()["detail"]
    assert "1234567" not in response.text
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)


async def test_a_retried_withdrawal_request_with_the_same_key_holds_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    key = str(uuid.uuid4())
    answers = [await request(http, customer, 2500, **{"Idempotency-Key": key}) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["withdrawal"]["id"] for a in answers}) == 1
    assert await ledger.deposit(customer.id) == (10000, 2500, 7500)
    listed = await http.get("/v1/deposit/withdrawals", headers=customer.headers)
    assert len(listed.json()) == 1


async def test_unknown_withdrawals_are_a_404(http: httpx.AsyncClient, staff: dict[str, str], customer: Caller) -> None:
    assert (await http.post("/v1/staff/withdrawals/wd_nope/confirm", json={}, headers=staff)).status_code == 404
    assert (await http.get("/v1/deposit/withdrawals/wd_nope", headers=customer.headers)).status_code == 404
