"""R9 withdrawals to customers abroad (IBAN + BIC, PayPal), and customers canceling their own pending request.

The ledger does the same for every destination: the amount is held on request,
released on cancel or rejection, debited on payout. Destinations are validated
(``schwifty`` for IBAN and BIC, ``email-validator`` for PayPal), sealed at rest
and shown masked, except to staff paying them out.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import StackSettings
from tests.services.deposits.conftest import Caller, Ledger, bank_account, new_customer, pay_in

pytestmark = pytest.mark.stack

IBAN = "DE89 3704 0044 0532 0130 00"  # the German example IBAN of the SWIFT registry: Commerzbank


def iban(**overrides: Any) -> dict[str, Any]:
    return {"iban": IBAN, "bic": "COBADEFFXXX", "holder_name": "Erika Mustermann", **overrides}


async def withdraw(http: httpx.AsyncClient, customer: Caller, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await http.post("/v1/deposit/withdrawals", json=body, headers={**customer.headers, **headers})


async def test_r9_a_withdrawal_to_an_iban_account_is_held_shown_masked_and_paid_out_by_staff(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 30000)
    created = await withdraw(http, customer, {"method": "iban", "amount": 20000, "iban_account": iban()})
    assert created.status_code == 201, created.text
    withdrawal = created.json()["withdrawal"]
    assert (withdrawal["method"], withdrawal["bank_account"]) == ("iban", None)
    assert withdrawal["destination"] == {
        "method": "iban",
        "iban": "DE******3000",
        "bic": "COBADEFFXXX",
        "country": "DE",
        "holder_name": "E***",
    }
    assert created.json()["deposit"] | {"customer_id": None} == {
        "customer_id": None,
        "currency": "JPY",
        "balance": 30000,
        "held": 20000,
        "available": 10000,
    }
    assert "0532013000" not in created.text and "Mustermann" not in created.text
    (requested,) = await ledger.events(customer.id, "deposit.withdrawal_requested")
    assert requested.data["destination"] == {"method": "iban", "label": "IBAN DE******3000 (COBADEFFXXX) E***"}
    assert "0532013000" not in requested.model_dump_json()

    destination = await http.get(f"/v1/staff/withdrawals/{withdrawal['id']}/destination", headers=staff)
    assert destination.status_code == 200, destination.text
    assert destination.json()["destination"] == {
        "method": "iban",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "holder_name": "Erika Mustermann",
    }
    paid = await http.post(
        f"/v1/staff/withdrawals/{withdrawal['id']}/confirm", json={"note": "SEPA ref 77"}, headers=staff
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["withdrawal"]["status"] == "paid"
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)
    await ledger.assert_consistent(customer.id)


async def test_the_bic_may_be_left_out_when_the_iban_names_its_bank(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    await pay_in(http, staff, customer, 5000)
    body = {"method": "iban", "amount": 1000, "iban_account": iban(iban="de89370400440532013000", bic=None)}
    created = await withdraw(http, customer, body)
    assert created.status_code == 201, created.text
    assert created.json()["withdrawal"]["destination"]["bic"] == "COBADEFFXXX"


@pytest.mark.parametrize(
    ("field", "value", "named", "why"),
    [
        ("iban", "DE89 3704 0044 0532 0130 01", "iban_account.iban", "checksum"),  # one digit mistyped
        ("iban", "DE89 3704 0044 0532 0130", "iban_account.iban", "length"),  # too short for Germany
        ("iban", "XX89 3704 0044 0532 0130 00", "iban_account.iban", "country"),
        ("bic", "COBA", "iban_account.bic", "length"),
        ("bic", "BNPAFRPPXXX", "iban_account", "another country"),  # a French bank for a German IBAN
        ("holder_name", "  ", "iban_account.holder_name", "empty"),
    ],
)
async def test_an_invalid_iban_or_bic_is_a_422_naming_the_field_and_holds_nothing(
    http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    ledger: Ledger,
    field: str,
    value: str,
    named: str,
    why: str,
) -> None:
    await pay_in(http, staff, customer, 1000)
    response = await withdraw(http, customer, {"method": "iban", "amount": 100, "iban_account": iban(**{field: value})})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["field"] == f"iban.{named}"  # the union's tag, then the field
    assert why in error["message"].lower()
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)


async def test_r9_a_paypal_withdrawal_is_paid_out_through_paypal_when_staff_confirm_it_once(
    http: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    ledger: Ledger,
) -> None:
    await pay_in(http, staff, customer, 8000)
    email = f"{customer.id}@example.com"
    created = await withdraw(http, customer, {"method": "paypal", "amount": 5000, "paypal_email": email})
    assert created.status_code == 201, created.text
    withdrawal = created.json()["withdrawal"]
    assert withdrawal["destination"] == {"method": "paypal", "email": f"{customer.id[0]}***@example.com"}
    assert email not in created.text

    staff_view = await http.get(f"/v1/staff/withdrawals/{withdrawal['id']}/destination", headers=staff)
    assert staff_view.json()["destination"] == {"method": "paypal", "email": email}
    url = f"/v1/staff/withdrawals/{withdrawal['id']}/confirm"
    first, again = await http.post(url, json={}, headers=staff), await http.post(url, json={}, headers=staff)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["withdrawal"]["status"] == "paid"
    batch = first.json()["withdrawal"]["payout_reference"]
    paid_out = [p for p in (await sandbox_http.get("/sandbox/payouts")).json() if p["receiver"] == email]
    assert [(p["payout_batch_id"], p["amount"]) for p in paid_out] == [(batch, {"value": "5000", "currency": "JPY"})]
    assert await ledger.deposit(customer.id) == (3000, 0, 3000)
    assert len(await ledger.events(customer.id, "deposit.withdrawal_paid")) == 1
    await ledger.assert_consistent(customer.id)


@pytest.mark.parametrize("email", ["not-an-address", "yamada@", "@example.com", "yamada@example"])
async def test_a_paypal_withdrawal_needs_a_valid_email_address(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, email: str
) -> None:
    await pay_in(http, staff, customer, 1000)
    response = await withdraw(http, customer, {"method": "paypal", "amount": 100, "paypal_email": email})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["paypal.paypal_email"]
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)


async def test_a_withdrawal_without_a_known_method_is_a_422(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str]
) -> None:
    await pay_in(http, staff, customer, 1000)
    for body in (
        {"amount": 100, "bank_account": bank_account()},
        {"method": "bitcoin", "amount": 100},
        {"method": "paypal", "amount": 100, "iban_account": iban()},
    ):
        response = await withdraw(http, customer, body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"


# --- customers cancel their own pending request -------------------------------------------------


async def test_a_customer_cancels_their_pending_withdrawal_and_the_hold_is_released_with_its_event(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    body = {"method": "japanese_bank", "amount": 4000, "bank_account": bank_account()}
    wid = (await withdraw(http, customer, body)).json()["withdrawal"]["id"]
    key = str(uuid.uuid4())
    canceled = await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=customer.with_key(key))
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["withdrawal"]["status"] == "canceled"
    assert canceled.json()["deposit"]["available"] == 10000
    assert await ledger.deposit(customer.id) == (10000, 0, 10000)

    replay = await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=customer.with_key(key))
    assert (replay.status_code, replay.headers.get("idempotent-replayed")) == (200, "true")
    assert replay.json() == canceled.json()
    second = await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=customer.headers)
    assert second.status_code == 409 and second.json()["type"].endswith("/withdrawal-not-pending")
    assert second.json()["withdrawal_status"] == "canceled"

    (event,) = await ledger.events(customer.id, "deposit.withdrawal_canceled")
    assert (event.source, event.data["withdrawal_id"], event.data["amount"], event.data["available"]) == (
        "daiko/deposits",
        wid,
        4000,
        10000,
    )
    kinds = [(t.kind, t.phase, t.idempotency_key) for t in await ledger.transfers(customer.id)][1:]
    assert kinds == [
        ("withdrawal_hold", "pending", f"withdrawal:{wid}:hold"),
        ("withdrawal_released", "void_pending", f"withdrawal:{wid}:canceled"),
    ]
    staff_confirm = await http.post(f"/v1/staff/withdrawals/{wid}/confirm", json={}, headers=staff)
    assert staff_confirm.status_code == 409 and staff_confirm.json()["type"].endswith("/withdrawal-canceled")
    await ledger.assert_consistent(customer.id)


async def test_a_withdrawal_paid_or_rejected_by_staff_cannot_be_canceled(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 10000)
    body = {"method": "paypal", "amount": 1000, "paypal_email": "hanako@example.com"}
    paid, rejected = [(await withdraw(http, customer, body)).json()["withdrawal"]["id"] for _ in "ab"]
    await http.post(f"/v1/staff/withdrawals/{paid}/confirm", json={}, headers=staff)
    await http.post(f"/v1/staff/withdrawals/{rejected}/reject", json={"reason": "closed account"}, headers=staff)
    for wid, status in ((paid, "paid"), (rejected, "rejected")):
        refused = await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=customer.headers)
        assert refused.status_code == 409 and refused.json()["withdrawal_status"] == status
    assert await ledger.deposit(customer.id) == (9000, 0, 9000)
    assert await ledger.events(customer.id, "deposit.withdrawal_canceled") == []


async def test_only_the_owner_can_cancel_a_withdrawal(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], stack: StackSettings, ledger: Ledger
) -> None:
    await pay_in(http, staff, customer, 2000)
    body = {"method": "japanese_bank", "amount": 2000, "bank_account": bank_account()}
    wid = (await withdraw(http, customer, body)).json()["withdrawal"]["id"]
    other = new_customer(stack)
    assert (await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=other.headers)).status_code == 404
    as_staff = await http.post(f"/v1/deposit/withdrawals/{wid}/cancel", headers=staff)
    assert as_staff.status_code == 403
    assert await ledger.deposit(customer.id) == (2000, 2000, 0)
