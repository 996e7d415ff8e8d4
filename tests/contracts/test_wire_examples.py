"""Every message the order workflow ever recorded in a committed history validates and writes back unchanged.

This is the backward-compatibility guard of the contracts: the models accept
what the workflow sent before they existed, and a producer building a model
from the same facts writes the same JSON (field names, values, optional fields
present exactly when they were).
"""

from __future__ import annotations

from collections import Counter

from contracts.topics import topic
from tests.contracts.wire_examples import recorded_messages


def test_every_recorded_order_event_and_deposit_command_validates_and_round_trips() -> None:
    seen: Counter[str] = Counter()
    for message in recorded_messages():
        model = topic(message.topic).parse(message.type, message.data)
        assert model.to_data() == message.data, f"{message.history}: {message.type} changed on the way through"
        seen[message.type] += 1
    assert {"order.applied", "order.estimated", "order.paid", "deposit.charge_requested"} <= set(seen)
    assert sum(seen.values()) > 50
