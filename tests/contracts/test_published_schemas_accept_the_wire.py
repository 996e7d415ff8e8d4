"""The published JSON Schemas and AsyncAPI payloads accept what is really on the wire, and refuse what is not.

A subscriber validating with the documents alone (no Python) must agree with
the models: the recorded workflow messages pass, a broken one fails.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest

from contracts.publish import OUT, asyncapi
from tests.contracts.wire_examples import recorded_messages


def _data_validator(event_type: str) -> Any:
    return jsonschema_rs.validator_for(json.loads((OUT / f"{event_type}.schema.json").read_text()))


def _body_validator(document: dict[str, Any], event_type: str) -> Any:
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/messages/{event_type}/payload", "components": document["components"]}
    )


def test_every_recorded_message_is_valid_for_its_published_schema_and_asyncapi_payload() -> None:
    document = asyncapi()
    sources = {"daiko.orders.events.v1": "daiko/orders", "daiko.deposits.commands.v1": "daiko/orders"}
    for message in recorded_messages():
        errors = list(_data_validator(message.type).iter_errors(message.data))
        assert not errors, f"{message.history}: {message.type}: {errors[0]}"
        body = {
            "specversion": "1.0",
            "id": "0b0c1f2e-1111-4a4a-9999-000000000000",
            "type": message.type,
            "source": sources[message.topic],
            "time": "2026-11-26T01:00:00Z",
            "subject": message.data["order_id"] if message.topic.startswith("daiko.orders") else "cust-1",
            "datacontenttype": "application/json",
            "data": message.data,
        }
        assert _body_validator(document, message.type).is_valid(body), f"{message.history}: {message.type}"


@pytest.mark.parametrize(
    ("event_type", "broken"),
    [
        ("order.paid", {"amount": 12.5}),
        ("order.paid", {"order_id": "P\u00001"}),
        ("order.paid", {"order_id": "P" * 101}),
        ("order.paid", {"surprise": True}),
        ("deposit.charge_requested", {"idempotency_key": "refund:P1:1"}),
        ("deposit.charge_requested", {"amount": 2**53}),
    ],
)
def test_the_published_schemas_refuse_what_the_models_refuse(event_type: str, broken: dict[str, Any]) -> None:
    valid = {
        "order.paid": {
            "order_id": "P1",
            "customer_id": "c",
            "status": "purchasing",
            "billing_seq": 1,
            "revision": 1,
            "amount": 100,
        },
        "deposit.charge_requested": {
            "order_id": "P1",
            "customer_id": "c",
            "billing_seq": 1,
            "revision": 1,
            "amount": 100,
            "idempotency_key": "charge:P1:1:1",
        },
    }[event_type]
    validator = _data_validator(event_type)
    assert validator.is_valid(valid)
    assert not validator.is_valid(valid | broken)
