"""The orders HTTP API has its own models; ``services.orders.mapping`` is the one place they meet the workflow's.

What the HTTP side promises: every workflow payload has an HTTP twin that maps
onto it value for value, and the workflow's view reaches clients exactly as
the workflow's JSON was (the API did not change when it got its own models),
while what the workflow adds to its own models stays out of the API until the
API decides to show it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.orders import mapping, schemas
from services.orders.halts import domain as halt_rules
from services.orders.staff_api import EXAMPLES
from workflows import models as wf
from workflows.operations import STAFF

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _example_view() -> wf.OrderView:
    """The documented order (applied and estimated by the workflow's own rules), as the workflow keeps it."""
    return wf.OrderView.model_validate(mapping.order_view_example())


def _eventful_view() -> wf.OrderView:
    """An order with every optional part of the view filled: shipment, dispute, refunds, a halt and its settlement."""
    view = _example_view().model_copy(
        update={
            "shipment": wf.Shipment(method="EMS", carrier="Japan Post", tracking_numbers=["EM1JP"], shipped_at=NOW),
            "dispute": wf.Dispute(opened_at=NOW, description="arm broken", resolved_at=NOW, refund_amount=500),
            "cancel_reason": wf.CancelReason.STAFF,
            "closed_at": NOW,
        }
    )
    halted = halt_rules.halted_view(view, cause="terminated", now=NOW)
    key = halt_rules.next_refund_key(halted)
    return halt_rules.with_settlement_requested(halted, key=key, amount=0, actor="staff:s-7", now=NOW)


def test_every_staff_operation_of_the_workflow_has_an_http_body_and_no_other_exists() -> None:
    assert set(schemas.STAFF_BODIES) == set(STAFF)


@pytest.mark.parametrize(("name", "example"), [(n, e) for n, ex in EXAMPLES.items() for e in ex.values()])
def test_a_staff_body_becomes_the_workflows_payload_value_for_value_with_the_token_as_actor(
    name: str, example: dict[str, Any]
) -> None:
    body = schemas.STAFF_BODIES[name].model_validate(example["value"])
    payload = mapping.staff_request(STAFF[name], body, actor="s-7")
    assert type(payload) is STAFF[name].request
    assert payload.actor == "s-7"
    assert payload.model_dump(exclude={"actor"}) == body.model_dump()


def test_a_staff_body_naming_an_actor_is_refused_at_the_http_boundary() -> None:
    with pytest.raises(ValueError, match="actor"):
        schemas.EstimateRequest.model_validate({"domestic_shipping": 800, "actor": "the-ceo"})


def test_customer_bodies_become_the_workflows_payloads() -> None:
    assert mapping.pay_billing(schemas.PayBillingRequest(billing_seq=2, revision=3)) == wf.PayBillingRequest(
        billing_seq=2, revision=3
    )
    assert mapping.customer_cancel(None) == wf.CustomerCancelRequest()
    assert mapping.customer_cancel(schemas.CustomerCancelRequest(reason="cheaper")).reason == "cheaper"
    fine = mapping.reception_report(schemas.ReceptionReportIn(received_fine=True, comment="thanks"))
    assert (fine.outcome, fine.comment) == (wf.ReceptionOutcome.RECEIVED, "thanks")


def test_an_application_becomes_the_workflows_application_with_the_services_customer_and_policy() -> None:
    body = schemas.ApplicationIn.model_validate(schemas.PURCHASE_EXAMPLE)
    policy = wf.OrderPolicy(payment_due_after=timedelta(days=3))
    started = mapping.application(body, order_id="P261201-MAPPED01", customer_id="cust-9", policy=policy)
    assert (started.order_id, started.customer_id, started.policy) == ("P261201-MAPPED01", "cust-9", policy)
    assert started.delivery_address.model_dump() == body.delivery_address.model_dump()
    assert [item.model_dump() for item in started.items] == [item.model_dump() for item in body.items]


@pytest.mark.parametrize("view", [_example_view(), _eventful_view()], ids=["estimated", "shipped-disputed-halted"])
def test_the_http_view_is_the_workflows_view_to_the_byte(view: wf.OrderView) -> None:
    shown = mapping.view(view)
    assert type(shown) is schemas.OrderView
    assert shown.model_dump_json() == view.model_dump_json()


def test_a_field_the_workflow_adds_to_its_view_stays_out_of_the_api() -> None:
    class TomorrowsView(wf.OrderView):
        """The workflow's view after a change the API has not taken up yet."""

        workflow_internal_counter: int = 7

    tomorrow = TomorrowsView.model_validate(_example_view().model_dump())
    assert mapping.view(tomorrow).model_dump_json() == _example_view().model_dump_json()
    assert "workflow_internal_counter" not in schemas.OrderView.model_json_schema()["properties"]


def test_a_list_row_shows_the_green_buttons_of_the_stored_view() -> None:
    view = _example_view()
    row = {
        **view.model_dump(include={"order_id", "status", "service_type", "payment_plan", "created_at"}),
        "updated_at": view.updated_at,
        "next_deadline": view.next_deadline,
        "item_count": len(view.items),
        "pending_operations": [p.model_dump(mode="json") for p in view.pending_operations],
        "customer_id": view.customer_id,
        "version": view.version,
        "item_names": [item.name for item in view.items],
        "billed_total": sum(b.total for b in view.billings),
        "paid_total": view.paid_total,
    }
    summary = mapping.staff_summary(row)
    assert [p.operation for p in summary.pending_operations] == [p.operation for p in view.pending_operations]
    assert summary.pending_operations and summary.customer_id == view.customer_id
    assert summary.item_names == [item.name for item in view.items]
