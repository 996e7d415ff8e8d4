"""A PayPal-shaped sandbox server for tests and local runs (``python -m services.deposits.paypal_sandbox``)."""

from services.deposits.paypal_sandbox.app import create_app

__all__ = ["create_app"]
