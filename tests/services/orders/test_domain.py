"""Plain rules of the orders service: order ids, list tabs, paging, refusals, deposit events, forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import ContractViolation
from daiko.events import Envelope
from daiko.problems import Problem, problem_for
from services.orders import mapping
from services.orders.app import PROBLEMS
from services.orders.domain import (
    NotAnOrderEvent,
    OrderTab,
    PageCursor,
    application_fingerprint,
    deposit_event_for_order,
    new_order_id,
    refusal_error,
    statuses_of,
)
from services.orders.schemas import ApplicationIn, ReceptionReportIn
from services.orders.settings import OrdersSettings
from workflows.models import OrderApplication, OrderStatus, ReceptionOutcome, ServiceType
from workflows.refusals import Refusal


def test_order_ids_name_the_service_and_the_day_and_fit_the_workflow_pattern() -> None:
    day = datetime(2026, 11, 26, tzinfo=UTC)
    purchase = new_order_id(ServiceType.PURCHASE, day)
    forward = new_order_id(ServiceType.FORWARD, day)
    assert purchase.startswith("P261126-") and forward.startswith("F261126-")
    assert len({new_order_id(ServiceType.PURCHASE, day) for _ in range(200)}) == 200
    pattern = OrderApplication.model_fields["order_id"].metadata[0].pattern
    assert pattern is not None
    assert re.fullmatch(pattern, purchase)


def test_the_same_application_has_the_same_fingerprint_whatever_its_key_order() -> None:
    a = {"service_type": "purchase", "items": [{"name": "x", "quantity": 1}]}
    b = {"items": [{"quantity": 1, "name": "x"}], "service_type": "purchase"}
    assert application_fingerprint(a) == application_fingerprint(b)
    assert application_fingerprint(a) != application_fingerprint({**a, "service_type": "forward"})


def test_each_status_belongs_to_exactly_one_tab_and_abandoned_orders_are_with_the_canceled() -> None:
    tabs = [statuses_of(tab) for tab in OrderTab]
    assert set().union(*tabs) == set(OrderStatus)
    assert sum(len(t) for t in tabs) == len(OrderStatus)
    assert OrderStatus.ABANDONED in statuses_of(OrderTab.CANCELED)
    assert statuses_of(OrderTab.COMPLETED) == {OrderStatus.COMPLETED}
    assert OrderStatus.SHIPPED in statuses_of(OrderTab.ONGOING)


def test_a_page_cursor_survives_the_round_trip_and_garbage_is_refused() -> None:
    cursor = PageCursor(created_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), order_id="P260102-ABCDEFGH")
    assert PageCursor.decode(cursor.encode()) == cursor
    for garbage in ("", "x", "!!!", "eyJjIjoxfQ", PageCursor.encode(cursor)[:-3]):
        with pytest.raises(ValueError):
            PageCursor.decode(garbage)


def _problem(refusal: str, message: str) -> Problem:
    return problem_for(refusal_error(refusal, message), PROBLEMS)


def test_refusals_are_409_with_the_reason_and_invalid_requests_are_422() -> None:
    problem = _problem(Refusal.PAYMENT_ALREADY_MADE.value, "order X has a payment")
    assert problem.status == 409
    assert problem.body()["type"].endswith("/payment-already-made")
    assert problem.body()["detail"] == "order X has a payment"
    assert problem.body()["refusal"] == "PaymentAlreadyMade"
    assert _problem(Refusal.INVALID_REQUEST.value, "no").status == 422
    assert _problem("SomethingNew", "no").status == 409
    assert all(_problem(r.value, "m").status in (409, 422) for r in Refusal)


_BALANCES = {"balance": 0, "held": 0, "available": 0}


def _deposit(event_type: str, **data: Any) -> Envelope:
    return Envelope(
        type=event_type,
        source="daiko/deposits",
        subject="cust-1",
        data={"customer_id": "cust-1", **data, **_BALANCES},
    )


def test_a_charge_answer_names_its_order_billing_and_revision() -> None:
    envelope = _deposit(
        "deposit.charged",
        order_id="P1",
        billing_seq=1,
        revision=2,
        amount=12_000,
        idempotency_key="charge:P1:1:2",
        transfer_id=7,
        attestation="c2lnbmVk",
        replayed=False,
        charged_at="2026-11-26T01:00:00+00:00",
    )
    event = deposit_event_for_order(envelope)
    assert event is not None
    assert (event.event_id, event.order_id, event.billing_seq, event.revision, event.amount) == (
        envelope.id,
        "P1",
        1,
        2,
        12_000,
    )


def test_the_billing_of_a_charge_answer_can_come_from_its_idempotency_key_alone() -> None:
    event = deposit_event_for_order(
        _deposit(
            "deposit.charge_rejected",
            order_id="P1",
            amount=5000,
            shortfall=1200,
            idempotency_key="charge:P1:2:3",
            rejection="insufficient-funds",
        )
    )
    assert event is not None
    assert (event.billing_seq, event.revision, event.shortfall) == (2, 3, 1200)


_REFUND_ANSWERS = {
    "deposit.refunded": {"transfer_id": 8, "attestation": "c2lnbmVk", "replayed": False, "reason": "dispute"},
    "deposit.refund_rejected": {"rejection": "exceeds-amount-charged", "refundable": 0},
}


@pytest.mark.parametrize("answer", sorted(_REFUND_ANSWERS))
def test_a_refund_answer_carries_its_refund_key(answer: str) -> None:
    fields = _REFUND_ANSWERS[answer]
    event = deposit_event_for_order(
        _deposit(answer, order_id="P1", amount=500, idempotency_key="refund:P1:1", **fields)
    )
    assert event is not None and event.type == answer and event.refund_key == "refund:P1:1"


def test_deposit_events_about_no_order_are_not_bridged() -> None:
    credited = {"method": "bank_transfer", "idempotency_key": "pay-in-report:r1", "transfer_id": 9}
    assert deposit_event_for_order(_deposit("deposit.credited", amount=1000, **credited)) is None
    paid = {"withdrawal_id": "w1", "idempotency_key": "withdrawal:w1:paid", "transfer_id": 10}
    assert deposit_event_for_order(_deposit("deposit.withdrawal_paid", amount=1000, **paid)) is None
    invalid = {"rejection": "invalid-command", "errors": ["order_id: Field required"], "shortfall": 0}
    assert deposit_event_for_order(_deposit("deposit.charge_rejected", **invalid)) is None


def test_an_answer_breaking_the_contract_or_naming_no_billing_is_reported_not_retried() -> None:
    with pytest.raises(ContractViolation, match="billing_seq"):
        deposit_event_for_order(_deposit("deposit.charged", order_id="P1", amount=100))  # which billing?
    with pytest.raises(ContractViolation, match="amount"):
        deposit_event_for_order(_deposit("deposit.charged", order_id="P1", billing_seq=1, revision=1, amount=1.5))
    with pytest.raises(ContractViolation, match="not a type"):
        deposit_event_for_order(_deposit("deposit.gift_card_added", amount=1))
    invalid = {"rejection": "invalid-command", "errors": ["amount: Field required"], "shortfall": 0}
    with pytest.raises(NotAnOrderEvent):
        deposit_event_for_order(_deposit("deposit.charge_rejected", order_id="P1", **invalid))


_ADDRESS = {"name": "A", "country": "FR", "postal_code": "75011", "address_lines": ["1 rue"], "phone": "+33 612345678"}


def _application(**overrides: Any) -> dict[str, Any]:
    item = {"name": "x", "shop_or_url": "https://shop.example/x", "quantity": 1, "unit_price_estimate": 100}
    return {
        "service_type": "purchase",
        "payment_plan": "two_time",
        "delivery_address": _ADDRESS,
        "items": [item],
        **overrides,
    }


def test_forward_items_may_come_without_their_domestic_tracking_number_and_purchase_items_have_none() -> None:
    assert ApplicationIn.model_validate(_application(service_type="forward"))  # the customer adds it later
    item = {"name": "x", "shop_or_url": "s", "quantity": 1, "unit_price_estimate": 1, "domestic_tracking_number": "9"}
    with pytest.raises(ValidationError, match="domestic_tracking_number"):
        ApplicationIn.model_validate(_application(items=[item]))
    assert ApplicationIn.model_validate(_application(service_type="forward", items=[item]))


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [_application()["items"][0]] * 51},
        {"service_type": "gift"},
        {"payment_plan": "three_time"},
        {"delivery_address": {**_ADDRESS, "phone": ""}},
        {"delivery_address": {**_ADDRESS, "address_lines": []}},
        {"items": [{**_application()["items"][0], "quantity": 0}]},
        {"items": [{**_application()["items"][0], "unit_price_estimate": 12.5}]},
        {"items": [{**_application()["items"][0], "unit_price_estimate": "100"}]},
        {"items": [{**_application()["items"][0], "unit_price_estimate": -1}]},
        {"coupon": "FREE"},
    ],
)
def test_an_application_that_breaks_a_rule_of_the_form_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ApplicationIn.model_validate(_application(**change))


def test_a_reception_report_is_either_received_fine_or_a_problem() -> None:
    fine = mapping.reception_report(ReceptionReportIn.model_validate({"received_fine": True}))
    assert fine.outcome is ReceptionOutcome.RECEIVED
    problem = mapping.reception_report(ReceptionReportIn.model_validate({"problems": "broken"}))
    assert (problem.outcome, problem.comment) == (ReceptionOutcome.PROBLEM, "broken")
    for neither_or_both in ({}, {"received_fine": False}, {"received_fine": True, "problems": "x"}):
        with pytest.raises(ValidationError):
            ReceptionReportIn.model_validate(neither_or_both)


def test_rule_durations_come_from_settings_and_a_bad_one_stops_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIKO_ESTIMATE_PAYMENT_WINDOW", "P3D")
    monkeypatch.setenv("DAIKO_SECOND_PAYMENT_WINDOW", "PT90S")
    policy = OrdersSettings().order_policy()
    assert policy.payment_due_after == timedelta(days=3)  # R5
    assert policy.abandon_after == timedelta(seconds=90)  # R11
    assert policy.completion_after == timedelta(days=50)  # R7 default
    monkeypatch.setenv("DAIKO_ESTIMATE_PAYMENT_WINDOW", "-P1D")
    with pytest.raises(ValidationError):
        OrdersSettings()
