"""A small PayPal-shaped server: OAuth token, Orders v2 create/approve/capture, signed webhooks.

Not a mock inside the client: the deposits service's real HTTP client talks to
it over TCP exactly as it would to api-m.paypal.com. It keeps its state in
memory and covers the paths a deposit has to survive:

- ``GET /checkoutnow?token=<order>&card=ok|declined|pending`` plays the buyer
  approving the order with a card that works, is declined at capture
  (``INSTRUMENT_DECLINED``), or leaves the capture PENDING until
  ``POST /sandbox/captures/{id}/complete`` (or ``…/deny``). After a decline the
  buyer may approve again with another card, as PayPal lets them.
- ``POST /v1/payments/payouts`` accepts a payout to a PayPal e-mail (one item);
  ``GET /sandbox/payouts`` lists what was paid out.
- Capturing twice answers ``ORDER_ALREADY_CAPTURED`` (or, with the same
  ``PayPal-Request-Id``, the first answer again, as PayPal does).
- Every capture state change is delivered as a signed webhook to the configured
  URL; ``POST /sandbox/captures/{id}/webhook`` delivers it again (a duplicate).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from services.deposits.paypal_sandbox.signing import sign_delivery, vouches_for


@dataclass
class SandboxOrder:
    id: str
    amount: str
    currency: str
    custom_id: str
    reference_id: str
    status: str = "CREATED"
    card: str = "ok"
    capture_id: str | None = None
    capture_status: str | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


@dataclass
class Delivery:
    event_id: str
    event_type: str
    capture_id: str
    status_code: int | None
    error: str | None = None


@dataclass
class SandboxState:
    client_id: str
    client_secret: str
    webhook_secret: str
    webhook_id: str
    webhook_url: str | None
    tokens: set[str] = field(default_factory=set)
    orders: dict[str, SandboxOrder] = field(default_factory=dict)
    by_request_id: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, name: str, issue: str, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "name": name,
            "message": description,
            "debug_id": uuid.uuid4().hex[:13],
            "details": [{"issue": issue, "description": description}],
        },
        status_code=status,
    )


def create_app(
    *,
    client_id: str,
    client_secret: str,
    webhook_secret: str,
    webhook_id: str,
    webhook_url: str | None = None,
) -> FastAPI:
    state = SandboxState(client_id, client_secret, webhook_secret, webhook_id, webhook_url)
    pending_sends: set[asyncio.Task[Delivery]] = set()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(pending_sends):  # let webhooks in flight arrive before stopping
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=5)

    app = FastAPI(title="PayPal sandbox (Daiko)", description=__doc__, lifespan=lifespan)
    app.state.sandbox = state

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def authorized(authorization: str | None) -> bool:
        return bool(authorization and authorization.startswith("Bearer ") and authorization[7:] in state.tokens)

    def order_json(order: SandboxOrder, request: Request) -> dict[str, Any]:
        unit: dict[str, Any] = {
            "reference_id": order.reference_id,
            "custom_id": order.custom_id,
            "amount": {"currency_code": order.currency, "value": order.amount},
        }
        if order.capture_id:
            unit["payments"] = {"captures": [capture_json(order)]}
        links = [{"href": f"{base(request)}/v2/checkout/orders/{order.id}", "rel": "self", "method": "GET"}]
        if order.status == "CREATED":
            links.append({"href": f"{base(request)}/checkoutnow?token={order.id}", "rel": "approve", "method": "GET"})
        if order.status == "APPROVED":
            links.append(
                {"href": f"{base(request)}/v2/checkout/orders/{order.id}/capture", "rel": "capture", "method": "POST"}
            )
        return {"id": order.id, "status": order.status, "intent": "CAPTURE", "purchase_units": [unit], "links": links}

    def capture_json(order: SandboxOrder) -> dict[str, Any]:
        return {
            "id": order.capture_id,
            "status": order.capture_status,
            "amount": {"currency_code": order.currency, "value": order.amount},
            "custom_id": order.custom_id,
            "final_capture": True,
            "supplementary_data": {"related_ids": {"order_id": order.id}},
        }

    async def deliver(order: SandboxOrder) -> Delivery:
        event_type = f"PAYMENT.CAPTURE.{order.capture_status}"
        event_id = f"WH-{uuid.uuid4().hex[:17].upper()}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": datetime.now(UTC).isoformat(),
            "resource_type": "capture",
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"Payment {order.capture_status}",
            "resource": capture_json(order),
        }
        body = json.dumps(event).encode()
        delivery = Delivery(event_id, event_type, order.capture_id or "", None)
        state.deliveries.append(delivery)
        if not state.webhook_url:
            delivery.error = "no webhook url configured"
            return delivery
        headers = sign_delivery(state.webhook_secret, state.webhook_id, str(uuid.uuid4()), event)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(state.webhook_url, content=body, headers=headers)
            delivery.status_code = response.status_code
        except httpx.HTTPError as exc:
            delivery.error = str(exc)
        return delivery

    def deliver_later(order: SandboxOrder) -> None:
        task = asyncio.create_task(deliver(order))
        pending_sends.add(task)
        task.add_done_callback(pending_sends.discard)

    @app.post("/v1/notifications/verify-webhook-signature")
    async def verify_webhook_signature(request: Request, authorization: str | None = Header(default=None)) -> Any:
        if not authorized(authorization):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed")
        signed = isinstance(body, dict) and vouches_for(state.webhook_secret, state.webhook_id, body)
        return {"verification_status": "SUCCESS" if signed else "FAILURE"}

    @app.post("/v1/oauth2/token")
    async def token(authorization: str | None = Header(default=None)) -> JSONResponse:
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, status_code=401
            )
        access = secrets.token_urlsafe(24)
        state.tokens.add(access)
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments",
                "access_token": access,
                "token_type": "Bearer",
                "app_id": "APP-DAIKO",
                "expires_in": 32400,
                "nonce": uuid.uuid4().hex,
            }
        )

    @app.post("/v2/checkout/orders")
    async def create_order(
        request: Request,
        authorization: str | None = Header(default=None),
        paypal_request_id: str | None = Header(default=None),
    ) -> JSONResponse:
        if not authorized(authorization):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        if paypal_request_id and paypal_request_id in state.by_request_id:
            status, body = state.by_request_id[paypal_request_id]
            return JSONResponse(body, status_code=status)
        payload = await request.json()
        try:
            unit = payload["purchase_units"][0]
            amount = unit["amount"]
            currency, value = str(amount["currency_code"]), str(amount["value"])
        except (KeyError, IndexError, TypeError):
            return _error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "purchase_units[0].amount missing")
        if payload.get("intent") != "CAPTURE":
            return _error(422, "UNPROCESSABLE_ENTITY", "INTENT_NOT_SUPPORTED", "only CAPTURE is supported here")
        if currency == "JPY" and not value.isdigit():
            return _error(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION", "JPY does not support decimals")
        if not value.isdigit() or int(value) <= 0:
            return _error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", "amount must be positive")
        order = SandboxOrder(
            id=uuid.uuid4().hex[:17].upper(),
            amount=value,
            currency=currency,
            custom_id=str(unit.get("custom_id", "")),
            reference_id=str(unit.get("reference_id", "default")),
        )
        state.orders[order.id] = order
        body = order_json(order, request)
        if paypal_request_id:
            state.by_request_id[paypal_request_id] = (201, body)
        return JSONResponse(body, status_code=201)

    @app.get("/checkoutnow")
    async def approve(token: str, card: str = "ok") -> JSONResponse:
        """The buyer's side: logs in and approves, paying with a card that behaves as ``card`` says."""
        order = state.orders.get(token)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such order")
        if card not in ("ok", "declined", "pending"):
            return _error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", "card must be ok|declined|pending")
        if order.status in ("CREATED", "APPROVED"):  # approving again (after a decline) picks another card
            order.status, order.card = "APPROVED", card
        return JSONResponse({"id": order.id, "status": order.status})

    @app.get("/v2/checkout/orders/{order_id}")
    async def get_order(order_id: str, request: Request, authorization: str | None = Header(default=None)) -> Any:
        if not authorized(authorization):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        order = state.orders.get(order_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such order")
        return JSONResponse(order_json(order, request))

    @app.post("/v2/checkout/orders/{order_id}/capture")
    async def capture(
        order_id: str,
        request: Request,
        authorization: str | None = Header(default=None),
        paypal_request_id: str | None = Header(default=None),
    ) -> JSONResponse:
        if not authorized(authorization):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        if paypal_request_id and paypal_request_id in state.by_request_id:
            status, body = state.by_request_id[paypal_request_id]
            return JSONResponse(body, status_code=status)
        order = state.orders.get(order_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such order")
        if order.status == "COMPLETED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED", "order already captured")
        if order.status != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED", "payer has not approved the order")
        if order.card == "declined":
            return _error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED", "the card was declined")
        order.status = "COMPLETED"
        order.capture_id = uuid.uuid4().hex[:17].upper()
        order.capture_status = "PENDING" if order.card == "pending" else "COMPLETED"
        body = order_json(order, request)
        if paypal_request_id:
            state.by_request_id[paypal_request_id] = (201, body)
        deliver_later(order)
        return JSONResponse(body, status_code=201)

    def by_capture(capture_id: str) -> SandboxOrder | None:
        return next((o for o in state.orders.values() if o.capture_id == capture_id), None)

    @app.post("/sandbox/captures/{capture_id}/complete")
    async def complete_pending(capture_id: str) -> JSONResponse:
        order = by_capture(capture_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such capture")
        order.capture_status = "COMPLETED"
        delivery = await deliver(order)
        return JSONResponse(vars(delivery))

    @app.post("/sandbox/captures/{capture_id}/deny")
    async def deny_pending(capture_id: str) -> JSONResponse:
        """The pending capture fails after all (PAYMENT.CAPTURE.DENIED at PayPal, capture status DECLINED)."""
        order = by_capture(capture_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such capture")
        order.capture_status = "DECLINED"
        delivery = await deliver(order)
        return JSONResponse(vars(delivery))

    @app.post("/v1/payments/payouts")
    async def create_payout(
        request: Request,
        authorization: str | None = Header(default=None),
        paypal_request_id: str | None = Header(default=None),
    ) -> JSONResponse:
        """Payouts API, one e-mail recipient per batch: accepted as PENDING, as PayPal answers a new batch."""
        if not authorized(authorization):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        if paypal_request_id and paypal_request_id in state.by_request_id:
            status, body = state.by_request_id[paypal_request_id]
            return JSONResponse(body, status_code=status)
        payload = await request.json()
        try:
            header = payload["sender_batch_header"]
            item = payload["items"][0]
            amount = item["amount"]
            value, receiver = str(amount["value"]), str(item["receiver"])
        except (KeyError, IndexError, TypeError):
            return _error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "sender_batch_header/items missing")
        if not value.isdigit() or int(value) <= 0:
            return _error(422, "VALIDATION_ERROR", "INVALID_PARAMETER_VALUE", "amount must be positive")
        if "@" not in receiver:
            return _error(422, "VALIDATION_ERROR", "RECEIVER_UNREGISTERED", "receiver is not an e-mail address")
        batch = {
            "payout_batch_id": uuid.uuid4().hex[:13].upper(),
            "batch_status": "PENDING",
            "sender_batch_header": header,
        }
        state.payouts.append({**batch, "receiver": receiver, "amount": amount})
        body = {"batch_header": batch, "links": []}
        if paypal_request_id:
            state.by_request_id[paypal_request_id] = (201, body)
        return JSONResponse(body, status_code=201)

    @app.get("/sandbox/payouts")
    async def payouts() -> list[dict[str, Any]]:
        return state.payouts

    @app.post("/sandbox/captures/{capture_id}/webhook")
    async def resend(capture_id: str) -> JSONResponse:
        """Deliver the capture's current state once more: PayPal delivers at least once."""
        order = by_capture(capture_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "no such capture")
        delivery = await deliver(order)
        return JSONResponse(vars(delivery))

    @app.get("/sandbox/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        return [vars(d) for d in state.deliveries]

    @app.put("/sandbox/webhook-url")
    async def set_webhook_url(request: Request) -> dict[str, Any]:
        state.webhook_url = (await request.json()).get("url")
        return {"url": state.webhook_url}

    return app
