"""Run the sandbox on the port the deposits settings point at (``DAIKO_PAYPAL_BASE_URL``)."""

from __future__ import annotations

from urllib.parse import urlparse

import uvicorn

from daiko import tracing
from daiko.logs import configure_logging
from services.deposits.paypal_sandbox.app import create_app
from services.deposits.settings import DepositsSettings

SANDBOX_WEBHOOK_SECRET = "daiko-sandbox-signs-its-webhooks"  # the fake PayPal's own; no service knows it


def main() -> None:
    settings = DepositsSettings()
    configure_logging(settings.log_level, service="paypal-sandbox")
    tracing.configure_tracing(settings, "paypal-sandbox")
    url = urlparse(settings.paypal_base_url)
    webhook = (
        settings.paypal_sandbox_webhook_url or f"http://127.0.0.1:{settings.deposits_port}/v1/deposit/paypal/webhook"
    )
    app = create_app(
        client_id=settings.paypal_client_id,
        client_secret=settings.paypal_client_secret.get_secret_value(),
        webhook_secret=SANDBOX_WEBHOOK_SECRET,
        webhook_id=settings.paypal_webhook_id,
        webhook_url=webhook,
    )
    tracing.instrument_app(app, probes=("/sandbox/deliveries",))  # the local stack's health probe
    # log_config=None: uvicorn's lines, access log included, go through our JSON pipeline.
    uvicorn.run(app, host=url.hostname or "127.0.0.1", port=url.port or 8104, log_config=None)


if __name__ == "__main__":
    main()
