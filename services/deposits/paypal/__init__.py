"""Card pay-ins through PayPal.

The same inner shape as a service: ``service.py`` (the use cases: create an
order, capture it, credit the deposit, take a webhook) and ``client.py`` (the
PayPal REST client and the webhook signature check). Its routes are in the
deposits ``api.py``; the development PayPal is ``services/deposits/paypal_sandbox``.
"""
