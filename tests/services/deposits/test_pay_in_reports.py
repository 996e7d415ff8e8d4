"""R9 pay-in by bank transfer: the customer reports, staff confirm (or reject), the deposit is credited once."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.deposits.settings import DepositsSettings
from tests.conftest import StackSettings
from tests.services.deposits.conftest import YESTERDAY, Caller, Ledger, new_customer

pytestmark = pytest.mark.stack

REPORT = {"amount": 10000, "transfer_date": YESTERDAY, "sender_name": "ヤマダ タロウ", "note": "for order 1001"}


async def file_report(http: httpx.AsyncClient, customer: Caller, **overrides: object) -> dict[str, object]:
    response = await http.post("/v1/deposit/pay-in-reports", json={**REPORT, **overrides}, headers=customer.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_r9_a_pay_in_report_credits_nothing_until_staff_confirm(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    assert report["status"] == "pending" and report["amount"] == 10000
    assert (await http.get("/v1/deposit", headers=customer.headers)).json()["balance"] == 0

    pending = await http.get("/v1/staff/pay-in-reports", params={"customer_id": customer.id}, headers=staff)
    assert [r["id"] for r in pending.json()] == [report["id"]]

    confirmed = await http.post(f"/v1/staff/pay-in-reports/{report['id']}/confirm", json={}, headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["report"]["status"] == "confirmed"
    assert confirmed.json()["deposit"] == {
        "customer_id": customer.id,
        "currency": "JPY",
        "balance": 10000,
        "held": 0,
        "available": 10000,
    }
    credited = await ledger.events(customer.id, "deposit.credited")
    assert [(e.data["amount"], e.data["method"], e.data["pay_in_report_id"]) for e in credited] == [
        (10000, "bank_transfer", report["id"])
    ]
    assert credited[0].subject == customer.id and credited[0].data["balance"] == 10000
    await ledger.assert_consistent(customer.id)


async def test_staff_may_credit_a_different_amount_with_a_note(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    no_note = await http.post(f"/v1/staff/pay-in-reports/{report['id']}/confirm", json={"amount": 9560}, headers=staff)
    assert no_note.status_code == 422 and no_note.json()["type"].endswith("/note-required")
    confirmed = await http.post(
        f"/v1/staff/pay-in-reports/{report['id']}/confirm",
        json={"amount": 9560, "note": "transfer fee of 440 yen deducted by the sender's bank"},
        headers=staff,
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["report"]["credited_amount"] == 9560
    assert confirmed.json()["report"]["amount"] == 10000
    assert await ledger.deposit(customer.id) == (9560, 0, 9560)


async def test_confirming_twice_credits_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    url = f"/v1/staff/pay-in-reports/{report['id']}/confirm"
    first = await http.post(url, json={}, headers=staff)
    second = await http.post(url, json={}, headers=staff)
    assert first.status_code == second.status_code == 200
    assert second.json()["deposit"]["balance"] == 10000
    other_amount = await http.post(url, json={"amount": 20000, "note": "typo"}, headers=staff)
    assert other_amount.status_code == 409 and other_amount.json()["type"].endswith("/pay-in-report-confirmed")
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)
    assert len(await ledger.events(customer.id, "deposit.credited")) == 1
    assert len(await ledger.transfers(customer.id)) == 1


async def test_a_rejected_report_credits_nothing_and_cannot_be_confirmed(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    rejected = await http.post(
        f"/v1/staff/pay-in-reports/{report['id']}/reject", json={"reason": "no such transfer arrived"}, headers=staff
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    confirm = await http.post(f"/v1/staff/pay-in-reports/{report['id']}/confirm", json={}, headers=staff)
    assert confirm.status_code == 409
    assert confirm.headers["content-type"] == "application/problem+json"
    assert confirm.json()["type"].endswith("/pay-in-report-rejected")
    assert await ledger.deposit(customer.id) == (0, 0, 0)
    mine = await http.get("/v1/deposit/pay-in-reports", headers=customer.headers)
    assert mine.json()[0]["status"] == "rejected" and mine.json()[0]["reject_reason"] == "no such transfer arrived"


async def test_a_confirmed_report_cannot_be_rejected(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    await http.post(f"/v1/staff/pay-in-reports/{report['id']}/confirm", json={}, headers=staff)
    rejected = await http.post(
        f"/v1/staff/pay-in-reports/{report['id']}/reject", json={"reason": "oops"}, headers=staff
    )
    assert rejected.status_code == 409
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)


async def test_an_unknown_pay_in_report_is_a_404(http: httpx.AsyncClient, staff: dict[str, str]) -> None:
    for action, body in (("confirm", {}), ("reject", {"reason": "x"})):
        response = await http.post(f"/v1/staff/pay-in-reports/pir_nope/{action}", json=body, headers=staff)
        assert response.status_code == 404
        assert response.json()["type"].endswith("/not-found")


async def test_a_customer_sees_only_their_own_reports(
    http: httpx.AsyncClient, customer: Caller, stack: StackSettings
) -> None:
    report = await file_report(http, customer)
    other = new_customer(stack)
    assert (await http.get(f"/v1/deposit/pay-in-reports/{report['id']}", headers=other.headers)).status_code == 404
    assert (await http.get("/v1/deposit/pay-in-reports", headers=other.headers)).json() == []
    mine = await http.get(f"/v1/deposit/pay-in-reports/{report['id']}", headers=customer.headers)
    assert mine.status_code == 200 and mine.json()["sender_name"] == "ヤマダ タロウ"


async def test_customers_cannot_decide_reports_and_staff_cannot_file_them(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    forbidden = await http.post(f"/v1/staff/pay-in-reports/{report['id']}/confirm", json={}, headers=customer.headers)
    assert forbidden.status_code == 403
    assert (await http.post("/v1/deposit/pay-in-reports", json=REPORT, headers=staff)).status_code == 403
    assert (await http.post("/v1/deposit/pay-in-reports", json=REPORT)).status_code == 401
    assert await ledger.deposit(customer.id) == (0, 0, 0)


async def test_a_retried_report_with_the_same_idempotency_key_files_one_report(
    http: httpx.AsyncClient, customer: Caller
) -> None:
    headers = customer.with_key(str(uuid.uuid4()))
    first = await http.post("/v1/deposit/pay-in-reports", json=REPORT, headers=headers)
    again = await http.post("/v1/deposit/pay-in-reports", json=REPORT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    different = await http.post("/v1/deposit/pay-in-reports", json={**REPORT, "amount": 1}, headers=headers)
    assert different.status_code == 422 and different.json()["type"].endswith("/idempotency-key-reused")
    assert len((await http.get("/v1/deposit/pay-in-reports", headers=customer.headers)).json()) == 1


async def test_a_retried_confirmation_with_the_same_idempotency_key_credits_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await file_report(http, customer)
    headers = {**staff, "Idempotency-Key": str(uuid.uuid4())}
    url = f"/v1/staff/pay-in-reports/{report['id']}/confirm"
    answers = [await http.post(url, json={"amount": 10000}, headers=headers) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].json() == answers[2].json()
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)
    assert len(await ledger.events(customer.id, "deposit.credited")) == 1


async def test_a_customer_is_shown_the_agencys_bank_account_with_their_own_reference(
    http: httpx.AsyncClient, customer: Caller
) -> None:
    response = await http.get("/v1/deposit/bank-account", headers=customer.headers)
    assert response.status_code == 200
    account = response.json()
    settings = DepositsSettings()
    assert account["account_number"] == settings.agency_bank_account_number
    assert account["account_holder"] == settings.agency_bank_account_holder
    assert account["reference"] == customer.id  # how staff match the transfer to the customer's pay-in report


async def test_the_agencys_bank_account_needs_a_signed_in_customer(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/deposit/bank-account")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
