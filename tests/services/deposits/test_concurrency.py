"""R9 "a deposit never goes negative", under concurrency: charges and withdrawals racing on one deposit."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.deposits import ChargeRequested
from contracts.keys import ChargeKey
from daiko.db import transaction
from services.deposits.service import charge
from tests.services.deposits.conftest import (
    DEV_SIGNING_KEY,
    YESTERDAY,
    Caller,
    Commands,
    Ledger,
    eventually,
    new_order_id,
    pay_in,
    to_bank,
)

pytestmark = pytest.mark.stack

FUNDS = 10_000
EACH = 300  # 10,000 // 300 = 33 can succeed, whatever the order, leaving 100


async def test_r9_100_concurrent_charges_and_withdrawals_never_take_a_deposit_below_zero(
    http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    ledger: Ledger,
    commands: Commands,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    await pay_in(http, staff, customer, FUNDS)
    sessions = db_sessions["deposits"]

    async def withdraw() -> bool:
        response = await http.post(
            "/v1/deposit/withdrawals",
            json=to_bank(EACH),
            headers=customer.headers,
        )
        assert response.status_code in (201, 409), response.text
        return response.status_code == 201

    async def charge_directly() -> bool:
        order_id = new_order_id()
        command = ChargeRequested(
            order_id=order_id,
            customer_id=customer.id,
            billing_seq=1,
            revision=1,
            amount=EACH,
            idempotency_key=ChargeKey(order_id, 1, 1),
        )
        async with transaction(sessions) as session:
            return await charge(session=session, command=command, signing_key=DEV_SIGNING_KEY) == "deposit.charged"

    kafka_charges = [commands.charge(customer.id, new_order_id(), EACH) for _ in range(20)]
    outcomes = await asyncio.gather(
        commands.send(*kafka_charges),
        *[withdraw() for _ in range(40)],
        *[charge_directly() for _ in range(40)],
    )
    direct = [o for o in outcomes[1:] if isinstance(o, bool)]

    async def kafka_answers() -> int | None:
        orders = {c.data["order_id"] for c in kafka_charges}
        done = [e for e in await ledger.events(customer.id) if e.data.get("order_id") in orders]
        return len(done) if len(done) == len(kafka_charges) else None

    await eventually(kafka_answers, what="answers to the 20 charge commands")
    events = await ledger.events(customer.id)
    kafka_charged = sum(
        e.type == "deposit.charged" and e.data["order_id"] in {c.data["order_id"] for c in kafka_charges}
        for e in events
    )

    succeeded = sum(direct) + kafka_charged
    assert succeeded == FUNDS // EACH
    balance, held, available = await ledger.deposit(customer.id)
    assert available == FUNDS - succeeded * EACH == FUNDS % EACH
    assert balance - held == available >= 0
    # Never below zero at any point: every transfer's recorded running balance, and every answer.
    for transfer in await ledger.transfers(customer.id):
        assert transfer.balance_after - transfer.held_after >= 0
    assert all(e.data["available"] >= 0 for e in events if "available" in e.data)
    await ledger.assert_consistent(customer.id)


async def test_ten_simultaneous_retries_of_one_withdrawal_request_hold_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, FUNDS)
    headers = customer.with_key("double-click-1")
    body = to_bank(1000)
    answers = await asyncio.gather(
        *[http.post("/v1/deposit/withdrawals", json=body, headers=headers) for _ in range(10)]
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["withdrawal"]["id"] for a in answers}) == 1
    assert await ledger.deposit(customer.id) == (FUNDS, 1000, FUNDS - 1000)


async def test_simultaneous_confirmations_of_one_pay_in_report_credit_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    report = await http.post(
        "/v1/deposit/pay-in-reports",
        json={"amount": 2000, "transfer_date": YESTERDAY, "sender_name": "ヤマダ"},
        headers=customer.headers,
    )
    url = f"/v1/staff/pay-in-reports/{report.json()['id']}/confirm"
    answers = await asyncio.gather(*[http.post(url, json={}, headers=staff) for _ in range(10)])
    assert {a.status_code for a in answers} == {200}
    assert await ledger.deposit(customer.id) == (2000, 0, 2000)
    assert len(await ledger.events(customer.id, "deposit.credited")) == 1
