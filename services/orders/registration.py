"""What the plumbing needs to know to run the orders service (entry point ``daiko.services``)."""

from __future__ import annotations

from pathlib import Path

from daiko.registry import ServiceRegistration, WorkerRegistration
from services.orders.settings import OrdersSettings
from workflows.search_attributes import SEARCH_ATTRIBUTES

SERVICE = ServiceRegistration(
    name="orders",
    app="services.orders.app:app",
    settings=OrdersSettings,
    migrations=Path(__file__).resolve().parent / "migrations",
    search_attributes=tuple(SEARCH_ATTRIBUTES),
    # The order worker runs OrderWorkflow and this service's projection activity.
    workers=(WorkerRegistration(name="worker", module="services.orders.worker"),),
)
