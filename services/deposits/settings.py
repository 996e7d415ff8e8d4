"""Settings of the deposits service (``DAIKO_`` prefix, shared base)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from daiko.events import DEPOSITS_COMMANDS, DEPOSITS_EVENTS
from daiko.settings import DaikoSettings


class DepositsSettings(DaikoSettings):
    # Kafka: a test or a second deployment may point the consumer at another topic or group.
    deposits_commands_topic: str = DEPOSITS_COMMANDS
    deposits_events_topic: str = DEPOSITS_EVENTS
    deposits_commands_group: str = "deposits-commands"

    # PayPal REST API (Orders v2). The defaults point at the sandbox shipped in
    # services/deposits/paypal_sandbox (``python -m services.deposits.paypal_sandbox``).
    paypal_base_url: str = "http://127.0.0.1:8104"
    paypal_client_id: str = "daiko-sandbox-client"
    paypal_client_secret: str = Field(default="daiko-sandbox-secret")
    paypal_webhook_secret: str = Field(default="daiko-sandbox-webhook-secret")
    # A webhook older than this is refused even with a valid signature (replayed capture).
    paypal_webhook_tolerance_seconds: int = 300
    paypal_return_url: str = "http://127.0.0.1:8102/paypal/return"
    paypal_cancel_url: str = "http://127.0.0.1:8102/paypal/cancel"
    paypal_timeout_seconds: float = 10.0

    # Key that seals withdrawal bank details at rest (AES-GCM); 32 bytes as 64 hex digits.
    bank_details_key: str = Field(default="6461696b6f2d6465762d62616e6b2d64657461696c732d6b65792d3030303030")

    # Limits that protect the ledger from typing mistakes (yen).
    max_single_amount: int = 10_000_000


@lru_cache
def get_deposits_settings() -> DepositsSettings:
    return DepositsSettings()
