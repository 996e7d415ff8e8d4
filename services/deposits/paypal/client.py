"""PayPal REST client (OAuth2 client credentials + Orders v2) and webhook signature check.

Real HTTP code: the same client talks to PayPal or to the sandbox in
``services/deposits/paypal_sandbox``. JPY is a zero-decimal currency at PayPal,
so amounts travel as whole-yen strings ("5000") and are parsed back strictly.

Webhook authenticity as PayPal documents it: a delivery carries the
``PayPal-Transmission-*``, ``PayPal-Auth-Algo`` and ``PayPal-Cert-Url`` headers,
and only PayPal can say whether they sign this event for our webhook id, so we
ask it (``POST /v1/notifications/verify-webhook-signature``). No secret of
ours can sign a webhook. A delivery without the headers or outside the
accepted time window is refused before PayPal is even asked; a verified one is
still not believed on its word (``services.deposits.paypal.service.handle_webhook`` reads the
capture from the PayPal order itself).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

WHOLE_YEN = re.compile(r"[0-9]{1,15}")
TRANSMISSION_ID = "PayPal-Transmission-Id"
TRANSMISSION_TIME = "PayPal-Transmission-Time"
TRANSMISSION_SIG = "PayPal-Transmission-Sig"
AUTH_ALGO = "PayPal-Auth-Algo"
CERT_URL = "PayPal-Cert-Url"


class PayPalError(Exception):
    """PayPal answered with an error; ``issue`` is its machine-readable reason (e.g. INSTRUMENT_DECLINED)."""

    def __init__(self, status: int, name: str, issue: str | None, message: str = "") -> None:
        super().__init__(f"PayPal {status} {name} {issue or ''} {message}".strip())
        self.status = status
        self.name = name
        self.issue = issue


class PayPalUnavailable(PayPalError):
    """PayPal could not be reached or failed on its side: safe to retry later."""


@dataclass(frozen=True)
class Capture:
    id: str
    status: str  # COMPLETED, PENDING, DECLINED, ...
    amount: int
    currency: str


@dataclass(frozen=True)
class Order:
    id: str
    status: str  # CREATED, APPROVED, COMPLETED, ...
    approve_url: str | None
    captures: tuple[Capture, ...] = ()


def parse_yen(value: str) -> int:
    """'5000' → 5000. Anything else ('50.5', '-1', '') is refused rather than rounded."""
    if not WHOLE_YEN.fullmatch(value):
        raise ValueError(f"not a whole-yen amount: {value!r}")
    return int(value)


def _capture(raw: dict[str, Any]) -> Capture:
    amount = raw.get("amount") or {}
    return Capture(
        id=str(raw["id"]),
        status=str(raw.get("status", "")),
        amount=parse_yen(str(amount.get("value", ""))),
        currency=str(amount.get("currency_code", "")),
    )


def parse_order(raw: dict[str, Any]) -> Order:
    approve = next(
        (link["href"] for link in raw.get("links", []) if link.get("rel") in ("approve", "payer-action")), None
    )
    captures = tuple(
        _capture(c) for unit in raw.get("purchase_units", []) for c in (unit.get("payments") or {}).get("captures", [])
    )
    return Order(id=str(raw["id"]), status=str(raw.get("status", "")), approve_url=approve, captures=captures)


class PayPalClient:
    """One per process; caches its OAuth token until shortly before it expires."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._auth = (client_id, client_secret)
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _access_token(self, *, renew: bool = False) -> str:
        async with self._lock:
            if renew or self._token is None or time.monotonic() >= self._expires:
                body = await self._send(
                    "POST",
                    "/v1/oauth2/token",
                    auth=self._auth,
                    data={"grant_type": "client_credentials"},
                    headers={"Accept": "application/json"},
                )
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + max(int(body.get("expires_in", 0)) - 60, 0)
            return self._token

    async def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise PayPalUnavailable(0, "UNREACHABLE", None, str(exc)) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            details = body.get("details") or [{}]
            name = str(body.get("name") or body.get("error") or "ERROR")
            issue = details[0].get("issue")
            cls = PayPalUnavailable if response.status_code >= 500 else PayPalError
            raise cls(response.status_code, name, issue, str(body.get("message", "")))
        return response.json() if response.content else {}

    async def _api(self, method: str, url: str, *, request_id: str | None = None, json: Any = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id  # PayPal's own idempotency: a retry gets the first result
        for attempt in (0, 1):
            token = await self._access_token(renew=attempt == 1)
            try:
                return await self._send(method, url, json=json, headers={**headers, "Authorization": f"Bearer {token}"})
            except PayPalError as exc:
                if exc.status != 401 or attempt == 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def create_order(
        self,
        *,
        amount: int,
        currency: str,
        reference_id: str,
        custom_id: str,
        request_id: str,
        return_url: str,
        cancel_url: str,
    ) -> Order:
        body = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": reference_id,
                    "custom_id": custom_id,
                    "description": "Deposit pay-in",
                    "amount": {"currency_code": currency, "value": str(amount)},
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "user_action": "PAY_NOW",
                        "return_url": return_url,
                        "cancel_url": cancel_url,
                    }
                }
            },
        }
        return parse_order(await self._api("POST", "/v2/checkout/orders", request_id=request_id, json=body))

    async def capture_order(self, order_id: str, *, request_id: str) -> Order:
        return parse_order(
            await self._api("POST", f"/v2/checkout/orders/{order_id}/capture", request_id=request_id, json={})
        )

    async def create_payout(self, *, sender_batch_id: str, email: str, amount: int, currency: str, note: str) -> str:
        """Send ``amount`` to a PayPal account (Payouts API, one item); returns PayPal's payout batch id.

        ``sender_batch_id`` is ours and unique per withdrawal; it is also the
        ``PayPal-Request-Id``, so a retried call gets the first batch back
        instead of paying twice.
        """
        body = {
            "sender_batch_header": {
                "sender_batch_id": sender_batch_id,
                "email_subject": "You have a payout",
                "email_message": note,
                "recipient_type": "EMAIL",
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": str(amount), "currency": currency},
                    "receiver": email,
                    "note": note,
                    "sender_item_id": sender_batch_id,
                }
            ],
        }
        answer = await self._api("POST", "/v1/payments/payouts", request_id=sender_batch_id, json=body)
        header = answer.get("batch_header") or {}
        batch_id = header.get("payout_batch_id")
        if not batch_id or header.get("batch_status") in ("DENIED", "CANCELED"):
            raise PayPalError(200, "PAYOUT_NOT_ACCEPTED", str(header.get("batch_status") or "NO_BATCH_ID"))
        return str(batch_id)

    async def get_order(self, order_id: str) -> Order:
        return parse_order(await self._api("GET", f"/v2/checkout/orders/{order_id}"))

    async def verify_webhook_signature(self, headers: dict[str, str], event: dict[str, Any], webhook_id: str) -> bool:
        """PayPal's own answer to "did you send this event to this webhook?"."""
        answer = await self._api(
            "POST", "/v1/notifications/verify-webhook-signature", json=verification_request(headers, event, webhook_id)
        )
        return answer.get("verification_status") == "SUCCESS"


# --- webhooks ---------------------------------------------------------------------------------


def webhook_is_fresh(headers: dict[str, str], *, tolerance_seconds: int, now: datetime | None = None) -> str | None:
    """None if the delivery names its transmission and was sent within the window, otherwise why not."""
    lowered = {k.lower(): v for k, v in headers.items()}
    tid, when, sig = (lowered.get(h.lower()) for h in (TRANSMISSION_ID, TRANSMISSION_TIME, TRANSMISSION_SIG))
    if not (tid and when and sig):
        return "signature headers missing"
    try:
        sent = datetime.fromisoformat(when)
    except ValueError:
        return "transmission time unreadable"
    if sent.tzinfo is None:
        return "transmission time has no time zone"
    if abs(((now or datetime.now(UTC)) - sent).total_seconds()) > tolerance_seconds:
        return "transmission time outside the accepted window"
    return None


def verification_request(headers: dict[str, str], event: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """The body of PayPal's verify-webhook-signature call for this delivery."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {
        "auth_algo": lowered.get(AUTH_ALGO.lower(), ""),
        "cert_url": lowered.get(CERT_URL.lower(), ""),
        "transmission_id": lowered.get(TRANSMISSION_ID.lower(), ""),
        "transmission_sig": lowered.get(TRANSMISSION_SIG.lower(), ""),
        "transmission_time": lowered.get(TRANSMISSION_TIME.lower(), ""),
        "webhook_id": webhook_id,
        "webhook_event": event,
    }
