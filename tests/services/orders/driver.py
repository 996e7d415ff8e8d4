"""Drives orders through the orders HTTP API of the running stack, as a customer and as staff.

Payments need the deposit's answer. When the stack's deposits service offers
pay-in reports, the customer's deposit is funded through its API (report +
staff confirm) and the real deposits service charges it; otherwise (or if no
answer comes in time) the test puts a ``deposit.charged`` event on
``daiko.deposits.events.v1`` itself, exactly as the deposits service would.
Either way the orders service's bridge carries the answer to the workflow.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts.keys import ChargeKey
from daiko.events import DEPOSITS_EVENTS, Envelope
from services.deposits.service import attest
from services.deposits.settings import DepositsSettings
from tests.conftest import StackSettings, bearer, customer_token, staff_token

View = dict[str, Any]


def address() -> dict[str, Any]:
    return {
        "name": "Alex Martin",
        "country": "FR",
        "postal_code": "75011",
        "address_lines": ["12 rue Oberkampf"],
        "phone": "+33 6 12 34 56 78",
    }


def purchase_application(plan: str = "two_time", items: int = 2) -> dict[str, Any]:
    return {
        "service_type": "purchase",
        "payment_plan": plan,
        "delivery_address": address(),
        "items": [
            {
                "name": f"figure {n}",
                "shop_or_url": f"https://shop.example/item/{n}",
                "quantity": n,
                "unit_price_estimate": 1000 * n,
                "options": "boxed",
            }
            for n in range(1, items + 1)
        ],
    }


def forward_application(plan: str = "one_time") -> dict[str, Any]:
    return {
        "service_type": "forward",
        "payment_plan": plan,
        "delivery_address": address(),
        "items": [
            {
                "name": "knife set",
                "shop_or_url": "Rakuten: Kama-Asa",
                "quantity": 1,
                "unit_price_estimate": 18_700,
                "domestic_tracking_number": f"TRK-{uuid.uuid4().hex[:8]}",
            }
        ],
    }


def billing(view: View, seq: int) -> View:
    return next(b for b in view["billings"] if b["seq"] == seq)


def pending(view: View, operation: str) -> list[View]:
    return [op for op in view["pending_operations"] if op["operation"] == operation]


_ANSWERS = {"deposit.charged", "deposit.charge_rejected", "deposit.refunded", "deposit.refund_rejected"}
_FILLED: dict[str, dict[str, Any]] = {
    "deposit.charged": {"transfer_id": 1, "replayed": False, "charged_at": "2026-11-26T01:00:00+00:00"},
    "deposit.charge_rejected": {"rejection": "insufficient-funds", "shortfall": 0},
    "deposit.refunded": {"reason": "", "transfer_id": 1, "replayed": False},
    "deposit.refund_rejected": {"rejection": "exceeds-amount-charged", "refundable": 0},
    "deposit.credited": {"method": "bank_transfer", "idempotency_key": "pay-in-report:test", "transfer_id": 1},
}


LEDGER_SIGNING_KEY = DepositsSettings().ledger_signing_key.get_secret_value()


def _ledger_signs(event_type: str, fields: dict[str, Any]) -> str:
    """What the deposits service adds to a charge or refund it posted: the ledger's signature (the stack's key)."""
    try:
        return attest(
            LEDGER_SIGNING_KEY,
            event_type,  # type: ignore[arg-type]
            customer_id=fields["customer_id"],
            order_id=fields["order_id"],
            key=fields["idempotency_key"],
            amount=fields["amount"],
            transfer_id=fields["transfer_id"],
        )
    except KeyError:  # an answer missing what it must name: its contract parks it before any signature matters
        return "unsigned"


class Driver:
    """One customer and the staff, talking to the stack's orders (and deposits) services."""

    def __init__(
        self,
        settings: StackSettings,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        customer_id: str,
        *,
        deposits_api: bool,
        answer_timeout: float = 15.0,
    ) -> None:
        self.settings = settings
        self.http = http
        self.producer = producer
        self.customer_id = customer_id
        self.customer = bearer(customer_token(settings, customer_id))
        self.staff = bearer(staff_token(settings))
        self.deposits_api = deposits_api
        self.answer_timeout = answer_timeout
        self.deposits_url = f"http://127.0.0.1:{settings.deposits_port}"

    # ------------------------------------------------------------------ customer

    async def apply(self, application: dict[str, Any], key: str | None = None) -> str:
        headers = {**self.customer, **({"Idempotency-Key": key} if key else {})}
        response = await self.http.post("/v1/orders", json=application, headers=headers)
        assert response.status_code == 201, response.text
        order_id: str = response.json()["order_id"]
        return order_id

    async def view(self, order_id: str) -> View:
        response = await self.http.get(f"/v1/orders/{order_id}", headers=self.customer)
        assert response.status_code == 200, response.text
        body: View = response.json()
        return body

    async def customer_op(self, order_id: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(f"/v1/orders/{order_id}/{path}", json=body, headers=self.customer)

    # ------------------------------------------------------------------ staff

    async def staff_op(self, order_id: str, operation: str, body: dict[str, Any]) -> View:
        response = await self.staff_try(order_id, operation, body)
        assert response.status_code == 200, f"{operation}: {response.status_code} {response.text}"
        view: View = response.json()
        return view

    async def staff_try(self, order_id: str, operation: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(f"/v1/staff/orders/{order_id}/{operation}", json=body, headers=self.staff)

    async def staff_view(self, order_id: str) -> View:
        response = await self.http.get(f"/v1/staff/orders/{order_id}", headers=self.staff)
        assert response.status_code == 200, response.text
        body: View = response.json()
        return body

    async def wait_for(self, order_id: str, check: Callable[[View], bool], what: str, timeout: float = 60) -> View:
        """Poll the read model (the staff view of the order) until ``check`` holds."""
        deadline = time.monotonic() + timeout
        view = await self.staff_view(order_id)
        while not check(view):
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id}: no {what} within {timeout}s; status {view['status']}")
            await asyncio.sleep(0.1)
            view = await self.staff_view(order_id)
        return view

    # ------------------------------------------------------------------ money

    async def fund_deposit(self, amount: int) -> bool:
        """Pay in through the deposits API (report + staff confirm); False if that API is not there."""
        if not self.deposits_api:
            return False
        async with httpx.AsyncClient(base_url=self.deposits_url, timeout=30) as deposits:
            report = await deposits.post(
                "/v1/deposit/pay-in-reports",
                json={"amount": amount, "transfer_date": datetime.now(UTC).date().isoformat(), "sender_name": "TEST"},
                headers=self.customer,
            )
            if report.status_code != 201:
                return False
            confirmed = await deposits.post(
                f"/v1/staff/pay-in-reports/{report.json()['id']}/confirm", json={}, headers=self.staff
            )
            return confirmed.status_code == 200

    async def deposit_answers(self, order_id: str, event_type: str, **data: Any) -> Envelope:
        """Put a deposit event on the deposits' topic, as the deposits service would (what ``data`` leaves out
        is filled in as its contract asks, except what names the billing)."""
        fields: dict[str, Any] = {"customer_id": self.customer_id}
        if event_type in _ANSWERS:
            fields["order_id"] = order_id
            if "billing_seq" in data and "revision" in data and "refund" not in event_type:
                fields["idempotency_key"] = str(ChargeKey(order_id, data["billing_seq"], data["revision"]))
        fields |= _FILLED.get(event_type, {}) | data | {"balance": 0, "held": 0, "available": 0}
        if event_type in ("deposit.charged", "deposit.refunded") and "attestation" not in fields:
            fields["attestation"] = _ledger_signs(event_type, fields)
        event = Envelope(type=event_type, source="daiko/deposits", subject=self.customer_id, data=fields)
        await self.send(event)
        return event

    async def send(self, event: Envelope) -> None:
        await self.producer.send_and_wait(DEPOSITS_EVENTS, event.to_bytes(), key=self.customer_id.encode())

    async def pay(self, order_id: str, seq: int) -> View:
        """The customer pays billing ``seq`` and the deposit charges it; returns the view once it is paid."""
        amount = billing(await self.view(order_id), seq)["total"]
        funded = await self.fund_deposit(amount)
        for _ in range(5):
            revision = billing(await self.view(order_id), seq)["revision"]
            response = await self.customer_op(order_id, "payments", {"billing_seq": seq, "revision": revision})
            assert response.status_code == 202, response.text
            assert billing(response.json(), seq)["status"] in ("charging", "paid")
            answered: View | None = None
            if funded:  # the real deposits service charges the funded deposit
                try:
                    answered = await self.wait_for(
                        order_id, lambda v: billing(v, seq)["status"] != "charging", "charge", self.answer_timeout
                    )
                except AssertionError:
                    answered = None
            if answered is None:  # nobody answers: answer as the deposits service would
                await self.deposit_answers(
                    order_id,
                    "deposit.charged",
                    billing_seq=seq,
                    revision=revision,
                    amount=amount,
                    idempotency_key=f"charge:{order_id}:{seq}:{revision}",
                )
                answered = await self.wait_for(
                    order_id, lambda v: billing(v, seq)["status"] != "charging", "charge result"
                )
            if billing(answered, seq)["status"] == "paid":
                return answered
            # A real deposits service rejected the charge first (this customer's deposit is empty): again.
        raise AssertionError(f"order {order_id}: billing {seq} never got paid")
