"""Settings of the orders service (``DAIKO_`` prefix, shared base).

The rule durations (docs/rules.md) live here because the orders service is what
starts an order: they are copied into the workflow's input as its
:class:`~workflows.models.OrderPolicy`, so changing them affects new orders
only, never one already running. They are ISO-8601 durations in the
environment, e.g. ``DAIKO_ESTIMATE_PAYMENT_WINDOW=P7D``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, model_validator

from contracts.ids import YEN_MAX
from daiko.settings import ServiceSettings
from workflows.models import MAX_ORDER_TOTAL, OrderPolicy


class OrdersSettings(ServiceSettings):
    orders_port: int = 8101
    orders_database: str = "daiko_orders"

    estimate_payment_window: timedelta = timedelta(days=7)  # R5: unpaid estimate / handling contact -> canceled
    item_arrival_window: timedelta = timedelta(days=30)  # R6: forward items not arrived -> canceled
    reception_report_window: timedelta = timedelta(days=50)  # R7: no reception report -> completed
    second_payment_window: timedelta = timedelta(days=30)  # R11: unpaid 2nd billing -> items abandoned
    reminder_lead_time: timedelta = timedelta(days=2)  # R13: reminder before each automatic deadline
    # The most one order may bill in all (yen): applications estimated above it are a 422, and billings
    # above it are refused by the workflow. Never beyond 2**53 - 1, what a JSON number carries exactly.
    max_order_total: int = Field(default=MAX_ORDER_TOTAL, ge=1, le=YEN_MAX)

    # Connections kept open to the orders database: at least the expected concurrent requests, so
    # a burst is not served by connections opened and closed per request (PostgreSQL forks per connection).
    database_pool_size: int = Field(default=32, ge=1, le=200)
    # How long a call into Temporal may take before the API answers 503 instead of hanging.
    temporal_rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Run the deposit-event bridge in this process (off for read-only replicas and benchmarks).
    deposit_bridge_enabled: bool = True

    @model_validator(mode="after")
    def _policy_is_valid(self) -> Self:
        """A bad duration (zero, negative, sub-second) stops the service at start, not at the first order."""
        self.order_policy()
        return self

    def order_policy(self) -> OrderPolicy:
        return OrderPolicy(
            payment_due_after=self.estimate_payment_window,
            arrival_due_after=self.item_arrival_window,
            completion_after=self.reception_report_window,
            abandon_after=self.second_payment_window,
            reminder_before=self.reminder_lead_time,
            max_order_total=self.max_order_total,
        )

    @property
    def port(self) -> int:
        return self.orders_port

    @property
    def database(self) -> str:
        return self.orders_database
