"""The four topics as described once: names, producers, types, strictness, and agreement with the workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import ValidationError

from contracts import orders
from contracts.topics import TOPICS, ContractViolation, source_of, topic
from workflows import models as workflow

TOPICS_YAML = Path(__file__).parents[2] / "deploy" / "topics.yaml"


def test_the_registry_describes_exactly_the_deployed_topics() -> None:
    deployed = {t["name"] for t in yaml.safe_load(TOPICS_YAML.read_text())["topics"]}
    assert {t.name for t in TOPICS} == deployed


def test_every_type_is_named_once_and_every_source_is_daiko_slash_service() -> None:
    types = [m.type for t in TOPICS for m in t.messages]
    assert len(types) == len(set(types))
    assert {t.source for t in TOPICS} == {"daiko/orders", "daiko/deposits", "daiko/messaging"}
    assert source_of("deposits") == "daiko/deposits"
    for t in TOPICS:
        for model in t.messages:
            assert model.version >= 1 and model.summary, model.type
            assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen"), model.type


@pytest.mark.parametrize(
    ("literal", "enum"),
    [
        (orders.OrderStatus, workflow.OrderStatus),
        (orders.PaymentPlan, workflow.PaymentPlan),
        (orders.ItemStatus, workflow.ItemStatus),
        (orders.CancelReason, workflow.CancelReason),
        (orders.DeadlineKind, workflow.DeadlineKind),
        (orders.BillingKind, workflow.BillingKind),
        (orders.BillingStatus, workflow.BillingStatus),
        (orders.LineKind, workflow.LineKind),
    ],
)
def test_the_order_events_name_every_value_the_workflow_can_send(literal: Any, enum: Any) -> None:
    assert set(get_args(literal)) == {member.value for member in enum}


def test_an_unknown_type_or_invalid_data_is_a_contract_violation_with_the_reason() -> None:
    events = topic("daiko.orders.events.v1")
    with pytest.raises(ContractViolation, match=r"'order\.gift_wrapped' is not a type of daiko\.orders\.events\.v1"):
        events.parse("order.gift_wrapped", {})
    paid = {"order_id": "P1", "customer_id": "c", "status": "purchasing", "billing_seq": 1, "revision": 1}
    with pytest.raises(ContractViolation, match="amount: Field required"):
        events.parse("order.paid", paid)
    with pytest.raises(ContractViolation, match="shipment: Extra inputs are not permitted"):
        events.parse("order.paid", {**paid, "amount": 100, "shipment": {}})
    with pytest.raises(ContractViolation, match="order_id"):
        events.parse("order.paid", {**paid, "amount": 100, "order_id": "P\x001"})
    assert isinstance(events.parse("order.paid", {**paid, "amount": 100}), orders.OrderPaid)


def test_events_are_frozen_facts() -> None:
    arrived = orders.OrderArrived(order_id="P1", customer_id="c", status="preparing_shipment")
    with pytest.raises(ValidationError):
        arrived.status = "shipped"  # type: ignore[misc]
    assert arrived.to_data() == {"order_id": "P1", "customer_id": "c", "status": "preparing_shipment"}
