"""R9 pay-in by card through PayPal: create, approve, capture, webhook — credited once, forgeries refused.

The deposits app's real PayPal client talks HTTP to the sandbox server in
``services/deposits/paypal_sandbox``, which sends signed webhooks back.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.deposits.paypal.client import PayPalClient, PayPalError, PayPalUnavailable
from services.deposits.paypal_sandbox.signing import sign_delivery
from tests.services.deposits.conftest import WEBHOOK_ID, WEBHOOK_SECRET, Caller, Ledger, Service, eventually, free_port

pytestmark = pytest.mark.stack


def sign_webhook(secret: str, transmission_id: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
    """A delivery's headers as the sandbox (playing PayPal) signs them, for the webhook's JSON body."""
    return sign_delivery(secret, WEBHOOK_ID, transmission_id, json.loads(body), at=at)


async def create(http: httpx.AsyncClient, customer: Caller, amount: int, **headers: str) -> dict[str, Any]:
    response = await http.post(
        "/v1/deposit/paypal/orders", json={"amount": amount}, headers={**customer.headers, **headers}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def approve(order: dict[str, Any], card: str = "ok") -> None:
    """The buyer opens the approve link and pays (in the sandbox, with a card that behaves as ``card``)."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{order['approve_url']}&card={card}")
    assert response.status_code == 200, response.text


async def capture(http: httpx.AsyncClient, customer: Caller, order_id: str, **headers: str) -> httpx.Response:
    return await http.post(f"/v1/deposit/paypal/orders/{order_id}/capture", headers={**customer.headers, **headers})


async def webhook_answered(sandbox_http: httpx.AsyncClient, capture_id: str, count: int = 1) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        deliveries = [
            d for d in (await sandbox_http.get("/sandbox/deliveries")).json() if d["capture_id"] == capture_id
        ]
        done = [d for d in deliveries if d["status_code"] is not None or d["error"]]
        return done if len(done) >= count else None

    return await eventually(probe, what=f"{count} webhook deliveries for {capture_id}")


async def test_r9_a_completed_capture_credits_the_deposit_and_its_webhook_credits_nothing_more(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 5000)
    assert order["status"] == "CREATED" and order["approve_url"].startswith("http")
    await approve(order)
    captured = await capture(http, customer, order["id"])
    assert captured.status_code == 200, captured.text
    assert captured.json()["order"]["credited"] is True
    assert captured.json()["order"]["capture_status"] == "COMPLETED"
    assert captured.json()["deposit"]["balance"] == 5000

    deliveries = await webhook_answered(sandbox_http, captured.json()["order"]["capture_id"])
    assert [d["status_code"] for d in deliveries] == [200]
    assert await ledger.deposit(customer.id) == (5000, 0, 5000)
    credited = await ledger.events(customer.id, "deposit.credited")
    assert [(e.data["method"], e.data["amount"], e.data["paypal_order_id"]) for e in credited] == [
        ("paypal", 5000, order["id"])
    ]
    await ledger.assert_consistent(customer.id)


async def test_capturing_twice_credits_once(http: httpx.AsyncClient, customer: Caller, ledger: Ledger) -> None:
    order = await create(http, customer, 3000)
    await approve(order)
    first, second = await capture(http, customer, order["id"]), await capture(http, customer, order["id"])
    assert first.status_code == second.status_code == 200
    assert second.json()["deposit"]["balance"] == 3000
    assert await ledger.deposit(customer.id) == (3000, 0, 3000)
    assert len(await ledger.transfers(customer.id)) == 1


async def test_a_duplicate_webhook_delivery_credits_nothing_more(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 2000)
    await approve(order)
    capture_id = (await capture(http, customer, order["id"])).json()["order"]["capture_id"]
    await webhook_answered(sandbox_http, capture_id)
    again = await sandbox_http.post(f"/sandbox/captures/{capture_id}/webhook")
    assert again.json()["status_code"] == 200
    assert await ledger.deposit(customer.id) == (2000, 0, 2000)
    assert len(await ledger.events(customer.id, "deposit.credited")) == 1


async def test_a_pending_capture_is_credited_when_its_completed_webhook_arrives(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 7000)
    await approve(order, card="pending")
    captured = await capture(http, customer, order["id"])
    assert captured.status_code == 200
    assert captured.json()["order"]["capture_status"] == "PENDING"
    assert captured.json()["order"]["credited"] is False
    assert await ledger.deposit(customer.id) == (0, 0, 0)

    capture_id = captured.json()["order"]["capture_id"]
    await webhook_answered(sandbox_http, capture_id)  # PAYMENT.CAPTURE.PENDING: recorded, nothing credited
    assert await ledger.deposit(customer.id) == (0, 0, 0)
    completed = await sandbox_http.post(f"/sandbox/captures/{capture_id}/complete")
    assert completed.json()["status_code"] == 200
    assert await ledger.deposit(customer.id) == (7000, 0, 7000)
    view = await http.get(f"/v1/deposit/paypal/orders/{order['id']}", headers=customer.headers)
    assert view.json()["credited"] is True and view.json()["capture_status"] == "COMPLETED"


async def test_a_declined_card_is_a_402_and_credits_nothing(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 4000)
    await approve(order, card="declined")
    declined = await capture(http, customer, order["id"])
    assert declined.status_code == 402
    assert declined.json()["type"].endswith("/paypal-instrument-declined")
    assert declined.json()["approve_url"] == order["approve_url"]
    assert await ledger.deposit(customer.id) == (0, 0, 0)


async def test_capturing_before_the_buyer_approved_is_a_409(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 4000)
    response = await capture(http, customer, order["id"])
    assert response.status_code == 409 and response.json()["type"].endswith("/paypal-order-not-approved")
    assert await ledger.deposit(customer.id) == (0, 0, 0)


async def test_another_customers_paypal_order_is_a_404(
    http: httpx.AsyncClient, customer: Caller, stack: Any, ledger: Ledger
) -> None:
    from tests.services.deposits.conftest import new_customer

    order = await create(http, customer, 1000)
    await approve(order)
    thief = new_customer(stack)
    assert (await capture(http, thief, order["id"])).status_code == 404
    assert (await http.get(f"/v1/deposit/paypal/orders/{order['id']}", headers=thief.headers)).status_code == 404
    assert await ledger.deposit(thief.id) == (0, 0, 0)


async def test_creating_with_the_same_idempotency_key_opens_one_paypal_order(
    http: httpx.AsyncClient, customer: Caller
) -> None:
    key = str(uuid.uuid4())
    first = await create(http, customer, 1500, **{"Idempotency-Key": key})
    again = await create(http, customer, 1500, **{"Idempotency-Key": key})
    assert first["id"] == again["id"]


def forged_capture_event(order_id: str, amount: int) -> bytes:
    return json.dumps(
        {
            "id": f"WH-{uuid.uuid4().hex[:10]}",
            "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {
                "id": f"FORGED{uuid.uuid4().hex[:8]}",
                "status": "COMPLETED",
                "amount": {"currency_code": "JPY", "value": str(amount)},
                "supplementary_data": {"related_ids": {"order_id": order_id}},
            },
        }
    ).encode()


async def test_a_forged_webhook_is_refused_and_credits_nothing(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 9000)
    body = forged_capture_event(order["id"], 900000)
    attempts = [
        {"Content-Type": "application/json"},  # no signature at all
        sign_webhook("guessed-secret", "tx-1", body),  # signed with the wrong secret
        {
            **sign_webhook(WEBHOOK_SECRET, "tx-2", b"{}"),
            "Content-Type": "application/json",
        },  # signature of another body
        sign_webhook(WEBHOOK_SECRET, "tx-3", body, at=datetime(2020, 1, 1, tzinfo=UTC)),  # a replayed old delivery
    ]
    for headers in attempts:
        response = await http.post("/v1/deposit/paypal/webhook", content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["type"].endswith("/webhook-signature-invalid")
    assert await ledger.deposit(customer.id) == (0, 0, 0)
    view = await http.get(f"/v1/deposit/paypal/orders/{order['id']}", headers=customer.headers)
    assert view.json()["capture_id"] is None


async def test_a_webhook_paypal_vouches_for_credits_only_what_paypal_captured_for_the_pay_in(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    """The attack: a capture of 5,000,000 yen "delivered" for a 100 yen pay-in. The body is never believed:
    the capture is read from the PayPal order, checked against the pay-in's amount, credited once."""
    order = await create(http, customer, 100)
    await approve(order)
    captured = await capture(http, customer, order["id"])
    assert captured.status_code == 200 and captured.json()["deposit"]["balance"] == 100
    body = forged_capture_event(order["id"], 5_000_000)
    response = await http.post(
        "/v1/deposit/paypal/webhook", content=body, headers=sign_webhook(WEBHOOK_SECRET, "tx-big", body)
    )
    assert response.status_code == 200, response.text
    assert await ledger.deposit(customer.id) == (100, 0, 100)
    await ledger.assert_consistent(customer.id)


async def test_a_genuine_webhook_for_an_unknown_order_is_acknowledged_and_ignored(http: httpx.AsyncClient) -> None:
    body = forged_capture_event("NOT-OURS", 100)
    response = await http.post(
        "/v1/deposit/paypal/webhook", content=body, headers=sign_webhook(WEBHOOK_SECRET, "t", body)
    )
    assert response.status_code == 200 and response.json() == {"status": "unknown-order"}


async def test_the_client_reports_paypal_unreachable_as_retryable_and_bad_credentials_as_refused(
    deposits: Service,
) -> None:
    async def create_with(client: PayPalClient) -> None:
        await client.create_order(
            amount=100,
            currency="JPY",
            reference_id="deposit",
            custom_id="c",
            request_id=str(uuid.uuid4()),
            return_url="http://x/return",
            cancel_url="http://x/cancel",
        )

    nowhere = PayPalClient(f"http://127.0.0.1:{free_port()}", "id", "secret", timeout=2)
    with pytest.raises(PayPalUnavailable):
        await create_with(nowhere)
    await nowhere.aclose()
    wrong = PayPalClient(deposits.sandbox_url, "id", "not-the-secret", timeout=5)
    with pytest.raises(PayPalError) as refused:
        await create_with(wrong)
    assert refused.value.status == 401 and not isinstance(refused.value, PayPalUnavailable)
    await wrong.aclose()


# --- a declined card tried again, and what the pay-in says at every step ------------------------


async def test_after_a_declined_card_the_customer_approves_another_and_the_same_pay_in_is_credited(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 4500)
    await approve(order, card="declined")
    first_key = str(uuid.uuid4())
    declined = await capture(http, customer, order["id"], **{"Idempotency-Key": first_key})
    assert declined.status_code == 402, declined.text
    assert declined.headers["content-type"] == "application/problem+json"
    view = (await http.get(f"/v1/deposit/paypal/orders/{order['id']}", headers=customer.headers)).json()
    assert (view["capture_status"], view["failure"], view["credited"]) == ("DECLINED", "INSTRUMENT_DECLINED", False)

    await approve(order, card="ok")  # back at PayPal's approve link, paying with a card that works
    replay = await capture(http, customer, order["id"], **{"Idempotency-Key": first_key})
    assert replay.status_code == 402 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == declined.json()
    assert await ledger.deposit(customer.id) == (0, 0, 0)

    retried = await capture(http, customer, order["id"], **{"Idempotency-Key": str(uuid.uuid4())})
    assert retried.status_code == 200, retried.text
    assert retried.json()["order"]["credited"] is True
    assert (retried.json()["order"]["capture_status"], retried.json()["order"]["failure"]) == ("COMPLETED", None)
    assert await ledger.deposit(customer.id) == (4500, 0, 4500)
    assert len(await ledger.events(customer.id, "deposit.credited")) == 1
    await ledger.assert_consistent(customer.id)


async def test_a_declined_card_captured_again_without_approving_another_is_still_declined(
    http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 1200)
    await approve(order, card="declined")
    answers = [await capture(http, customer, order["id"], **{"Idempotency-Key": str(uuid.uuid4())}) for _ in "ab"]
    assert [a.status_code for a in answers] == [402, 402]
    assert all(a.json()["approve_url"] == order["approve_url"] for a in answers)
    assert await ledger.deposit(customer.id) == (0, 0, 0)


async def test_the_capture_status_follows_a_pending_capture_to_completed_however_often_it_is_reported(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 6100)
    await approve(order, card="pending")
    pending = await capture(http, customer, order["id"])
    capture_id = pending.json()["order"]["capture_id"]
    await webhook_answered(sandbox_http, capture_id)
    again = await capture(http, customer, order["id"])  # the customer reloads the return page while pending
    assert again.json()["order"]["capture_status"] == "PENDING"
    assert (await sandbox_http.post(f"/sandbox/captures/{capture_id}/complete")).json()["status_code"] == 200

    url = f"/v1/deposit/paypal/orders/{order['id']}"
    completed = (await http.get(url, headers=customer.headers)).json()
    assert (completed["credited"], completed["capture_status"]) == (True, "COMPLETED")
    # Later reports (a reload of the return page, PayPal delivering again) leave it completed.
    after = await capture(http, customer, order["id"])
    assert (after.json()["order"]["credited"], after.json()["order"]["capture_status"]) == (True, "COMPLETED")
    await sandbox_http.post(f"/sandbox/captures/{capture_id}/webhook")
    assert (await http.get(url, headers=customer.headers)).json()["capture_status"] == "COMPLETED"
    assert await ledger.deposit(customer.id) == (6100, 0, 6100)


async def test_a_pending_capture_that_paypal_denies_shows_declined_and_credits_nothing(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, customer: Caller, ledger: Ledger
) -> None:
    order = await create(http, customer, 2600)
    await approve(order, card="pending")
    capture_id = (await capture(http, customer, order["id"])).json()["order"]["capture_id"]
    await webhook_answered(sandbox_http, capture_id)
    denied = await sandbox_http.post(f"/sandbox/captures/{capture_id}/deny")
    assert denied.json()["status_code"] == 200
    view = (await http.get(f"/v1/deposit/paypal/orders/{order['id']}", headers=customer.headers)).json()
    assert (view["capture_status"], view["credited"]) == ("DECLINED", False)
    assert await ledger.deposit(customer.id) == (0, 0, 0)
    assert await ledger.events(customer.id, "deposit.credited") == []
