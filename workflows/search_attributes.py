"""Search attributes of order workflows, so staff can filter orders in the Temporal Web UI.

``SEARCH_ATTRIBUTES`` is what the local stack and the test servers register;
the typed keys are what the workflow upserts.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
SERVICE_TYPE = SearchAttributeKey.for_keyword("ServiceType")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

SEARCH_ATTRIBUTES: list[tuple[str, str]] = [
    ("CustomerId", "Keyword"),
    ("OrderStatus", "Keyword"),
    ("ServiceType", "Keyword"),
    ("NextDeadline", "Datetime"),
]
