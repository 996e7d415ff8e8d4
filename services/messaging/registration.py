"""What the plumbing needs to know to run the messaging service (entry point ``daiko.services``)."""

from __future__ import annotations

from pathlib import Path

from daiko.registry import ServiceRegistration
from services.messaging.settings import MessagingSettings

SERVICE = ServiceRegistration(
    name="messaging",
    app="services.messaging.app:app",
    settings=MessagingSettings,
    migrations=Path(__file__).resolve().parent / "migrations",
)
