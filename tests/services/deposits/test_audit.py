"""The ledger audit for one customer: their real totals, recomputed from their transfers alone (R9).

Staff open ``GET /v1/staff/ledger/audit?customer_id=…`` when a customer asks
"where did my money go": it must give that customer's credits, debits, held
amount and balance, agree with their deposit, and show that every one of their
transfers has its two sides (Σ debits = Σ credits).
"""

from __future__ import annotations

import httpx
import pytest

from tests.services.deposits.conftest import Caller, Commands, Ledger, eventually, new_order_id, pay_in, to_bank

pytestmark = pytest.mark.stack


async def test_the_audit_of_one_customer_gives_their_real_totals_and_balanced_double_entry(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 10000)  # credit 10,000
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 3000))  # debit 3,000
    await eventually(lambda: ledger.events(customer.id, "deposit.charged"), what="the charge")
    await commands.send(commands.refund(customer.id, order, 1200))  # credit 1,200
    await eventually(lambda: ledger.events(customer.id, "deposit.refunded"), what="the refund")
    held, paid, canceled = [
        (await http.post("/v1/deposit/withdrawals", json=to_bank(amount), headers=customer.headers)).json()
        for amount in (2000, 1000, 500)
    ]
    assert (await http.post(f"/v1/staff/withdrawals/{paid['withdrawal']['id']}/confirm", headers=staff)).is_success
    cancel_url = f"/v1/deposit/withdrawals/{canceled['withdrawal']['id']}/cancel"
    assert (await http.post(cancel_url, headers=customer.headers)).is_success

    response = await http.get("/v1/staff/ledger/audit", params={"customer_id": customer.id}, headers=staff)
    assert response.status_code == 200, response.text
    audit = response.json()
    assert audit["deposit"] == {
        "customer_id": customer.id,
        "credits": 11200,  # the pay-in and the refund
        "debits": 4000,  # the charge and the withdrawal paid out
        "held": 2000,  # the withdrawal still pending (the canceled one released)
        "balance": 7200,
        "available": 5200,
    }
    deposit = (await http.get(f"/v1/staff/customers/{customer.id}/deposit", headers=staff)).json()
    assert (deposit["balance"], deposit["held"], deposit["available"]) == (7200, 2000, 5200)
    # pay-in, charge, refund, three holds, one posted and one voided: 8 transfers, each with two sides.
    assert audit["transfers"] == 8
    assert (audit["debits_posted"], audit["credits_posted"]) == (15200, 15200)
    assert (audit["debits_pending"], audit["credits_pending"]) == (2000, 2000)
    assert (audit["ok"], audit["balanced"], audit["mismatches"]) == (True, True, [])
    assert held["withdrawal"]["status"] == "pending"


async def test_the_audit_of_a_customer_without_movements_is_all_zero_and_ok(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    audit = (await http.get("/v1/staff/ledger/audit", params={"customer_id": customer.id}, headers=staff)).json()
    assert audit["deposit"] == {
        "customer_id": customer.id,
        "credits": 0,
        "debits": 0,
        "held": 0,
        "balance": 0,
        "available": 0,
    }
    assert (audit["transfers"], audit["ok"], audit["balanced"]) == (0, True, True)


async def test_the_whole_ledger_audit_has_no_customer_deposit_and_balances(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    await pay_in(http, staff, customer, 700)
    audit = (await http.get("/v1/staff/ledger/audit", headers=staff)).json()
    assert audit["deposit"] is None and audit["balanced"] is True
    assert audit["debits_posted"] == audit["credits_posted"] >= 700
