"""How the sandbox, playing PayPal, signs its webhook deliveries and later vouches for them.

Real PayPal signs with a certificate and answers ``verify-webhook-signature``;
the sandbox signs with a secret only it holds (HMAC-SHA256 over the
transmission id, its time, the webhook id and the event's canonical JSON) and
answers the same API. The deposits service never sees that secret: like in
production, it can only ask.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from services.deposits.paypal.client import AUTH_ALGO, CERT_URL, TRANSMISSION_ID, TRANSMISSION_SIG, TRANSMISSION_TIME

ALGORITHM = "SHA256withHMAC"


def canonical(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, webhook_id: str, transmission_id: str, transmission_time: str, event: dict[str, Any]) -> str:
    digest = hashlib.sha256(canonical(event)).hexdigest()
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{digest}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_delivery(
    secret: str, webhook_id: str, transmission_id: str, event: dict[str, Any], *, at: datetime | None = None
) -> dict[str, str]:
    """The headers a delivery of ``event`` carries, as PayPal names them."""
    when = (at or datetime.now(UTC)).isoformat()
    return {
        TRANSMISSION_ID: transmission_id,
        TRANSMISSION_TIME: when,
        TRANSMISSION_SIG: signature(secret, webhook_id, transmission_id, when, event),
        AUTH_ALGO: ALGORITHM,
        CERT_URL: "https://sandbox.invalid/certs/daiko-sandbox",
        "Content-Type": "application/json",
    }


def vouches_for(secret: str, webhook_id: str, request: dict[str, Any]) -> bool:
    """The sandbox's ``verify-webhook-signature``: did it sign this event, for this webhook?"""
    event = request.get("webhook_event")
    if not isinstance(event, dict) or request.get("webhook_id") != webhook_id:
        return False
    expected = signature(
        secret,
        webhook_id,
        str(request.get("transmission_id", "")),
        str(request.get("transmission_time", "")),
        event,
    )
    return hmac.compare_digest(expected, str(request.get("transmission_sig", "")))
