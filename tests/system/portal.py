"""The whole system as its users reach it: a customer portal and the staff's tools, over the three HTTP APIs.

Nothing is faked: money moves through the real deposits service, every order
is a real workflow, notices come from the real messaging service. The client
behaves as a careful real client does while a part is down: a call that gets
no answer, or a 503, is retried; a POST that creates something is retried
with the same ``Idempotency-Key``; an operation without a key (a workflow
update) is retried only after reading the order again, so a retry never does
a second thing the first attempt already did. Every answer is recorded, so a
test can check that the system never answered 500.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import StackSettings, bearer, customer_token, staff_token

Json = dict[str, Any]

RETRY_STATUSES = {500, 502, 503, 504}  # 500 is retried too, but recorded: the system must never answer it
RETRY_PROBLEMS = {"retry"}  # deposits: "a concurrent request changed the same record; retry"
RECORD_PATIENCE = 60.0  # seconds an unanswered staff operation is given to show on the order before a retry
DEFAULT_PATIENCE = 150.0  # seconds a call keeps being retried: covers a part's restart on a slow machine


class GaveUp(AssertionError):
    """A call kept failing past its deadline."""


@dataclass(frozen=True)
class Answer:
    service: str
    method: str
    path: str
    status: int
    body: str
    at: float  # time.monotonic()


@dataclass
class Portal:
    """HTTP clients of orders, deposits and messaging, with the staff's token and a record of every answer."""

    settings: StackSettings
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    answers: Counter[tuple[str, int, str]] = field(default_factory=Counter)  # service, status, problem code
    server_errors: list[Answer] = field(default_factory=list)
    unreachable: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        ports = {
            "orders": self.settings.orders_port,
            "deposits": self.settings.deposits_port,
            "messaging": self.settings.messaging_port,
        }
        timeout = httpx.Timeout(30.0, connect=3.0)
        self.http = {
            name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout)
            for name, port in ports.items()
        }
        self.staff = bearer(staff_token(self.settings))

    async def aclose(self) -> None:
        for client in self.http.values():
            await client.aclose()

    def customer(self, prefix: str = "sys") -> Customer:
        return Customer(self, f"{prefix}-{uuid.uuid4().hex[:12]}")

    def forget(self) -> None:
        """Start a new record of answers (one per test)."""
        self.answers.clear()
        self.server_errors.clear()
        self.unreachable.clear()

    async def attempt(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One try: the answer, or None when the part did not answer or answered 5xx."""
        try:
            response = await self.http[service].request(method, path, **kwargs)
        except httpx.TransportError:  # refused, reset, timed out: the part is down or restarting
            self.unreachable[service] += 1
            return None
        code = _problem_code(response) if response.status_code >= 400 else ""
        self.answers[(service, response.status_code, code)] += 1
        if response.status_code >= 500 and response.status_code != 503:
            self.server_errors.append(
                Answer(service, method, path, response.status_code, response.text[:500], time.monotonic())
            )
        if response.status_code in RETRY_STATUSES:
            return None
        if response.status_code == 409 and code in RETRY_PROBLEMS:
            return None
        return response

    async def call(
        self, service: str, method: str, path: str, *, patience: float = DEFAULT_PATIENCE, **kwargs: Any
    ) -> httpx.Response:
        """Retry until the part answers something other than a 5xx (only safe for reads and keyed POSTs)."""
        deadline = time.monotonic() + patience
        delay = 0.2
        while True:
            response = await self.attempt(service, method, path, **kwargs)
            if response is not None:
                return response
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {service}{path}: no answer but 5xx or nothing for {patience:.0f}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    # ------------------------------------------------------------------ staff

    async def staff_view(self, order_id: str) -> Json:
        response = await self.call("orders", "GET", f"/v1/staff/orders/{order_id}", headers=self.staff)
        assert response.status_code == 200, response.text
        view: Json = response.json()
        return view

    async def staff_op(
        self,
        order_id: str,
        operation: str,
        body: Json,
        *,
        done: Callable[[Json], bool],
        patience: float = DEFAULT_PATIENCE,
    ) -> Json:
        """A staff operation (a workflow update, no Idempotency-Key): read the order before every retry.

        ``done`` tells from the order whether the operation already happened, as
        staff would see on the order page before clicking again.
        """
        deadline = time.monotonic() + patience
        path = f"/v1/staff/orders/{order_id}/{operation}"
        while True:
            response = await self.attempt("orders", "POST", path, json=body, headers=self.staff)
            if response is not None and response.status_code == 200:
                view: Json = response.json()
                return view
            view = await self.staff_view(order_id)
            if done(view):
                return view
            if response is not None:
                raise AssertionError(f"{operation} on {order_id}: {response.status_code} {response.text}")
            # No answer: the operation may still have been taken and be waiting for its record (a worker
            # coming back). Staff look at the order for a while before they click again.
            settled = time.monotonic() + RECORD_PATIENCE
            while time.monotonic() < min(settled, deadline):
                await asyncio.sleep(0.5)
                view = await self.staff_view(order_id)
                if done(view):
                    return view
            if time.monotonic() > deadline:
                raise GaveUp(f"{operation} on {order_id} did not go through in {patience:.0f}s")

    async def wait_for(
        self, order_id: str, check: Callable[[Json], bool], what: str, *, timeout: float = 60, interval: float = 0.3
    ) -> Json:
        """Poll the order (staff view, read model) until ``check`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            view = await self.staff_view(order_id)
            if check(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id}: no {what} within {timeout:.0f}s; status {view['status']}")
            await asyncio.sleep(interval)

    async def ledger_audit(self) -> Json:
        response = await self.call("deposits", "GET", "/v1/staff/ledger/audit", headers=self.staff)
        assert response.status_code == 200, response.text
        audit: Json = response.json()
        return audit


@dataclass
class Customer:
    """One customer of the agency, with their own token."""

    portal: Portal
    customer_id: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(customer_token(self.portal.settings, self.customer_id))

    # ------------------------------------------------------------------ deposit

    async def report_pay_in(self, amount: int) -> Json:
        """A bank transfer's payment report; retried with the same Idempotency-Key."""
        response = await self.portal.call(
            "deposits",
            "POST",
            "/v1/deposit/pay-in-reports",
            json={
                "amount": amount,
                "transfer_date": datetime.now(UTC).date().isoformat(),
                "sender_name": "SYSTEM TEST",
            },
            headers={**self.auth, "Idempotency-Key": f"pay-in-{uuid.uuid4()}"},
        )
        assert response.status_code == 201, response.text
        report: Json = response.json()
        return report

    async def fund(self, amount: int) -> Json:
        """Pay in by bank transfer: the customer reports it, staff confirm it; returns the deposit after."""
        report = await self.report_pay_in(amount)
        response = await self.portal.call(
            "deposits",
            "POST",
            f"/v1/staff/pay-in-reports/{report['id']}/confirm",
            json={},
            headers={**self.portal.staff, "Idempotency-Key": f"confirm-{report['id']}"},
        )
        assert response.status_code == 200, response.text
        deposit: Json = response.json()["deposit"]
        return deposit

    async def deposit(self) -> Json:
        response = await self.portal.call("deposits", "GET", "/v1/deposit", headers=self.auth)
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def transactions(self) -> list[Json]:
        response = await self.portal.call(
            "deposits", "GET", "/v1/deposit/transactions", params={"limit": 200}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        items: list[Json] = response.json()["items"]
        return items

    # ------------------------------------------------------------------ orders

    async def apply(self, application: Json) -> str:
        """Apply for an order; a retry carries the same Idempotency-Key, so it is one order whatever happens."""
        response = await self.portal.call(
            "orders",
            "POST",
            "/v1/orders",
            json=application,
            headers={**self.auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code in (200, 201), response.text
        order_id: str = response.json()["order_id"]
        return order_id

    async def view(self, order_id: str) -> Json:
        response = await self.portal.call("orders", "GET", f"/v1/orders/{order_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        view: Json = response.json()
        return view

    async def wait_for(
        self, order_id: str, check: Callable[[Json], bool], what: str, *, timeout: float = 60, interval: float = 1.0
    ) -> Json:
        """Refresh the order-details page until ``check`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            view = await self.view(order_id)
            if check(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id}: no {what} within {timeout:.0f}s; status {view['status']}")
            await asyncio.sleep(interval)

    async def orders(self) -> list[Json]:
        response = await self.portal.call("orders", "GET", "/v1/orders", headers=self.auth)
        assert response.status_code == 200, response.text
        orders: list[Json] = response.json()["orders"]
        return orders

    async def pay(self, order_id: str, seq: int, *, patience: float = DEFAULT_PATIENCE) -> Json:
        """Press "pay" for billing ``seq``: once the order shows it charging or paid, the request went through.

        Without an Idempotency-Key on this route the order itself is the guard:
        before every retry the customer reads it again, and a second request for
        a billing already being charged is refused (409) by the workflow anyway.
        """
        deadline = time.monotonic() + patience
        path = f"/v1/orders/{order_id}/payments"
        while True:
            bill = billing(await self.view(order_id), seq)
            if bill["status"] in ("charging", "paid"):
                return bill
            body = {"billing_seq": seq, "revision": bill["revision"]}
            response = await self.portal.attempt("orders", "POST", path, json=body, headers=self.auth)
            if response is not None and response.status_code == 202:
                return billing(response.json(), seq)
            if response is not None and response.status_code != 409:
                raise AssertionError(f"paying billing {seq} of {order_id}: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise GaveUp(f"paying billing {seq} of {order_id} did not go through in {patience:.0f}s")
            await asyncio.sleep(0.3)

    async def report_reception(self, order_id: str, report: Json, *, done: Callable[[Json], bool]) -> Json:
        path = f"/v1/orders/{order_id}/reception-report"
        deadline = time.monotonic() + DEFAULT_PATIENCE
        while True:
            response = await self.portal.attempt("orders", "POST", path, json=report, headers=self.auth)
            if response is not None and response.status_code == 200:
                view: Json = response.json()
                return view
            view = await self.view(order_id)
            if done(view):
                return view
            if response is not None or time.monotonic() > deadline:
                raise AssertionError(f"reception report on {order_id}: {response and response.text}")
            await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ messages

    async def messages(self, order_id: str) -> list[Json]:
        response = await self.portal.call(
            "messaging", "GET", f"/v1/orders/{order_id}/messages", params={"limit": 500}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        messages: list[Json] = response.json()["messages"]
        return messages

    async def notices_when(
        self, order_id: str, expected: Callable[[list[Json]], bool], what: str, *, timeout: float = 60
    ) -> list[Json]:
        """The order's system notices, once ``expected`` holds for them."""
        deadline = time.monotonic() + timeout
        path = f"/v1/orders/{order_id}/messages"
        while True:
            response = await self.portal.call("messaging", "GET", path, params={"limit": 500}, headers=self.auth)
            assert response.status_code in (200, 404), response.text  # 404: no event of the order has arrived yet
            messages: list[Json] = response.json()["messages"] if response.status_code == 200 else []
            notices = [m for m in messages if m["kind"] == "notice"]
            if expected(notices):
                return notices
            if time.monotonic() > deadline:
                seen = [n["notice_type"] for n in notices]
                raise AssertionError(f"order {order_id}: no {what} within {timeout:.0f}s; notices {seen}")
            await asyncio.sleep(0.3)


def _problem_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("type", "")).rsplit("/", 1)[-1] if isinstance(body, dict) else ""


def billing(view: Json, seq: int) -> Json:
    return next(b for b in view["billings"] if b["seq"] == seq)


def notice_types(notices: list[Json]) -> Counter[str]:
    return Counter(n["notice_type"] for n in notices)


# ---------------------------------------------------------------------- applications


def address() -> Json:
    return {
        "name": "Alex Martin",
        "country": "FR",
        "postal_code": "75011",
        "address_lines": ["12 rue Oberkampf"],
        "phone": "+33 6 12 34 56 78",
    }


def purchase_application(plan: str = "two_time") -> Json:
    """Two items: 1 x 1,000 yen and 2 x 2,000 yen (5,000 yen of goods)."""
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
            }
            for n in (1, 2)
        ],
    }


def forward_application(plan: str = "one_time") -> Json:
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
