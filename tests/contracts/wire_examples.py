"""Real wire examples for the contract tests: every message the committed order histories recorded.

The workflow's ``record_transition`` activity input holds each outgoing message
exactly as it went into the outbox (topic, type, data), so these histories are
the order workflow's wire output as it was before the contracts existed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORIES = sorted((Path(__file__).parents[1] / "workflows" / "histories").glob("*.json"))


@dataclass(frozen=True)
class WireMessage:
    history: str
    topic: str
    type: str
    data: dict[str, Any]


def recorded_messages() -> Iterator[WireMessage]:
    for path in HISTORIES:
        for event in json.loads(path.read_text())["events"]:
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if not scheduled or scheduled["activityType"]["name"] != "record_transition":
                continue
            for payload in scheduled["input"]["payloads"]:
                transition = json.loads(base64.b64decode(payload["data"]))
                for message in transition["messages"]:
                    yield WireMessage(path.stem, message["topic"], message["type"], message["data"])
