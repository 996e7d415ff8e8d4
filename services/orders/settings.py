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

from pydantic import Field, SecretStr, model_validator

from contracts.ids import YEN_MAX
from daiko.settings import KafkaLogin, ServiceSettings, development_default, development_secret
from workflows.models import MAX_ORDER_TOTAL, OrderPolicy


class OrdersSettings(ServiceSettings):
    orders_port: int = 8101
    orders_database: str = "daiko_orders"
    # Its Kafka principal (User:orders): the ACLs let it write only the topics it produces.
    orders_kafka_username: str = "orders"
    orders_kafka_password: SecretStr = development_secret("daiko-orders-kafka-development-password")

    estimate_payment_window: timedelta = timedelta(days=7)  # R5: unpaid estimate / handling contact -> canceled
    item_arrival_window: timedelta = timedelta(days=30)  # R6: forward items not arrived -> canceled
    reception_report_window: timedelta = timedelta(days=50)  # R7: no reception report -> completed
    second_payment_window: timedelta = timedelta(days=30)  # R11: unpaid 2nd billing -> items abandoned
    reminder_lead_time: timedelta = timedelta(days=2)  # R13: reminder before each automatic deadline
    estimate_window: timedelta = timedelta(days=14)  # R14: no estimate / handling contact from staff -> canceled
    estimate_alert_lead_time: timedelta = timedelta(days=2)  # R14: staff alert before the estimate deadline
    # The most one order may bill in all (yen): applications estimated above it are a 422, and billings
    # above it are refused by the workflow. Never beyond 2**53 - 1, what a JSON number carries exactly.
    max_order_total: int = Field(default=MAX_ORDER_TOTAL, ge=1, le=YEN_MAX)

    # Connections kept open to the orders database: at least the expected concurrent requests, so
    # a burst is not served by connections opened and closed per request (PostgreSQL forks per connection).
    database_pool_size: int = Field(default=32, ge=1, le=200)
    # How long a call into Temporal may take before the API answers 503 instead of hanging.
    temporal_rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Public keys (hex) of the ledger's signing keys: a deposit answer counts only if one of them verifies it.
    # Several, so the deposits service can rotate its key while answers signed by the old one still travel.
    ledger_public_keys: list[str] = development_default(
        ["303bcc4674fe08a5b26b4bfd1b955230d7e02b662ead6336a3373b45f49c8be2"]
    )
    # Reconciliation with the ledger: an order or movement quiet for longer than the grace is compared.
    reconciliation_grace_seconds: float = Field(default=60.0, ge=0)
    reconciliation_interval_seconds: float = Field(default=60.0, gt=0)
    # Run the deposit-event bridge in this process (off for read-only replicas and benchmarks).
    deposit_bridge_enabled: bool = True
    # Keep the orders' copy of each order's message thread (messaging's events) in this process: the
    # order-details view shows the latest messages and the unread count from it (R1). Off where another runs it.
    thread_copy_enabled: bool = True
    # Connections of the order-details read's own pool (services/orders/details.py): one short statement
    # each, so a few serve a busy process; they are separate from (and on top of) database_pool_size.
    details_pool_size: int = Field(default=8, ge=1, le=100)
    # The sweep that finds halted orders (workflow terminated, failed...): how often, and how many open
    # orders each visibility query asks about. Off where another process runs it.
    halt_sweep_enabled: bool = True
    halt_sweep_interval: timedelta = Field(default=timedelta(seconds=60), gt=timedelta(0))
    halt_sweep_batch: int = Field(default=100, ge=1, le=500)
    # An open order whose next deadline passed longer ago than this without its rule firing is overdue
    # (daiko_orders_deadlines_overdue): the worker is down or stuck, or the order's workflow is gone.
    deadline_overdue_grace_seconds: float = Field(default=300.0, ge=0)

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
            estimate_due_after=self.estimate_window,
            estimate_alert_before=self.estimate_alert_lead_time,
            max_order_total=self.max_order_total,
        )

    @property
    def port(self) -> int:
        return self.orders_port

    @property
    def database(self) -> str:
        return self.orders_database

    @property
    def orders_kafka_login(self) -> KafkaLogin:
        return KafkaLogin(self.orders_kafka_username, self.orders_kafka_password)

    @property
    def kafka_login(self) -> KafkaLogin:
        return self.orders_kafka_login
