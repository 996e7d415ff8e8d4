"""The event envelope every Kafka message carries: a CloudEvents 1.0 JSON body, and the same attributes as headers.

The body is the structured-mode event (``specversion``, ``id``, ``type``,
``source``, ``time``, ``subject``, ``data``), so a reader of the JSON alone has
everything. The outbox relay also writes the CloudEvents Kafka binary-mode
headers (``ce_id``, ``ce_type``, ...) so routers and subscribers can filter
without parsing the body; their ``content-type`` says the body is a whole
structured event. The topic names and what each type's ``data`` holds are
in ``contracts`` (a leaf package of models, which this plumbing may import).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics import DEPOSITS_COMMANDS, DEPOSITS_EVENTS, ORDERS_EVENTS
from contracts.topics import MESSAGING_EVENTS_TOPIC as MESSAGING_EVENTS

__all__ = ["DEPOSITS_COMMANDS", "DEPOSITS_EVENTS", "MESSAGING_EVENTS", "ORDERS_EVENTS", "Envelope", "new_event_id"]

BODY_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
"""The Kafka ``content-type`` header: the body is the structured event, attributes and data together."""


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

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """CloudEvents Kafka protocol binding, binary-mode attribute headers (``ce_<attribute>``)."""
        return [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", BODY_CONTENT_TYPE.encode()),
        ]


def kafka_headers(payload: bytes) -> list[tuple[str, bytes]]:
    """The headers of a stored envelope; none for bytes that are not one (they still go out, unchanged)."""
    try:
        return Envelope.from_bytes(payload).kafka_headers()
    except ValueError:
        return []
