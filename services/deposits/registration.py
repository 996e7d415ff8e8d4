"""What the plumbing needs to know to run the deposits service (entry point ``daiko.services``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from daiko.registry import CompanionRegistration, ServiceRegistration
from services.deposits.settings import DepositsSettings


def _paypal_sandbox_address() -> tuple[str, int]:
    """The sandbox listens where the deposits service's PayPal client is pointed."""
    url = urlparse(DepositsSettings().paypal_base_url)
    return url.hostname or "127.0.0.1", url.port or 8104


SERVICE = ServiceRegistration(
    name="deposits",
    app="services.deposits.app:app",
    settings=DepositsSettings,
    migrations=Path(__file__).resolve().parent / "migrations",
    companions=(
        CompanionRegistration(
            name="paypal",
            module="services.deposits.paypal_sandbox",
            health_path="/sandbox/deliveries",
            address=_paypal_sandbox_address,
        ),
    ),
)
