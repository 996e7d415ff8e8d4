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


def test_the_commands_the_deposits_tests_send_are_valid_commands() -> None:
    from tests.services.deposits.conftest import Commands

    commands = topic("daiko.deposits.commands.v1")
    for envelope in (
        Commands.charge("cust-1", "P1", 1200, billing_seq=2, revision=3),
        Commands.refund("cust-1", "P1", 500),
    ):
        assert commands.parse(envelope.type, envelope.data).to_data() == envelope.data


def test_the_answers_the_orders_tests_fake_are_valid_deposit_events() -> None:
    from tests.services.orders.driver import _ANSWERS, _FILLED, _ledger_signs

    answers = topic("daiko.deposits.events.v1")
    balances = {"balance": 0, "held": 0, "available": 0}
    for event_type, filled in _FILLED.items():
        data = {"customer_id": "cust-1", **filled, "amount": 100, **balances}
        if event_type in _ANSWERS:
            data |= {"order_id": "P1"} | (
                {"idempotency_key": "refund:P1:1"}
                if "refund" in event_type
                else {"billing_seq": 1, "revision": 1, "idempotency_key": "charge:P1:1:1"}
            )
        if event_type in ("deposit.charged", "deposit.refunded"):
            data["attestation"] = _ledger_signs(event_type, data)
        answers.parse(event_type, data)
