"""The event envelope every Kafka message carries (CloudEvents-style JSON, docs/architecture.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ORDERS_EVENTS = "daiko.orders.events.v1"
DEPOSITS_COMMANDS = "daiko.deposits.commands.v1"
DEPOSITS_EVENTS = "daiko.deposits.events.v1"
MESSAGING_EVENTS = "daiko.messaging.events.v1"


def new_event_id() -> str:
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """A fact or command on the wire; ``id`` is what consumers de-duplicate on."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=new_event_id)
    type: str
    source: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
