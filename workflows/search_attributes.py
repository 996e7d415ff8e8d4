"""Search attributes of order workflows, so staff can filter orders in the Temporal Web UI.

``SEARCH_ATTRIBUTES`` is what the local stack and the test servers register;
the typed keys are what the workflow upserts. A Temporal server rejects
attributes it does not know (the workflow task then retries forever), so every
server registers these first. Staff filter with e.g.
``OrderStatus = "awaiting_payment" AND NextDeadline < "2030-01-01T00:00:00Z"``.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

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


def initial_attributes(customer_id: str, status: str, service_type: str) -> TypedSearchAttributes:
    """Set at start, so a new order is findable before its first workflow task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(CUSTOMER_ID, customer_id),
            SearchAttributePair(ORDER_STATUS, status),
            SearchAttributePair(SERVICE_TYPE, service_type),
        ]
    )
