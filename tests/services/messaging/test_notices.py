"""The words of system notices (R13 reminders included), and their leniency towards sparse events."""

from __future__ import annotations

from typing import Any

import pytest

from services.messaging.notices import NOTICES, notice_for


def body(event_type: str, data: dict[str, Any]) -> str:
    notice = notice_for(event_type, data)
    assert notice is not None
    return notice.body


def test_estimate_ready_gives_the_amount_and_the_deadline_in_japan_time() -> None:
    text = body(
        "order.estimated", {"billing": {"seq": 1, "revision": 1, "total": 12345, "due_at": "2026-12-03T00:00Z"}}
    )
    assert "estimate of your order is ready" in text
    assert "¥12,345" in text
    assert "03 Dec 2026 09:00 JST" in text
    assert "canceled automatically" in text  # R5


def test_a_re_estimate_says_it_was_revised() -> None:
    assert "revised" in body("order.estimated", {"billing": {"revision": 2, "total": 100}})


def test_payment_received_with_amount() -> None:
    assert (
        body("order.paid", {"billing_seq": 1, "amount": 5000}) == "We have received your payment of ¥5,000. Thank you."
    )


def test_a_rejected_payment_tells_how_much_the_deposit_is_short() -> None:
    notice = notice_for("order.payment_rejected", {"billing_seq": 1, "revision": 1, "shortfall": 1200})
    assert notice is not None and notice.notice_type == "payment_rejected"
    assert "¥1,200 short" in notice.body and "pay in" in notice.body


@pytest.mark.parametrize(
    ("status", "words"),
    [("purchased", "We have purchased Blue mug."), ("unavailable", "could not purchase Blue mug")],
)
def test_item_purchased_or_unavailable(status: str, words: str) -> None:
    assert words in body("order.item_updated", {"item": {"item_id": "i1", "name": "Blue mug", "status": status}})


def test_shipped_names_carrier_and_every_tracking_number() -> None:
    text = body(
        "order.shipped",
        {"shipment": {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EJ123JP", "EJ456JP"]}},
    )
    assert "Japan Post" in text and "EMS" in text
    assert "EJ123JP, EJ456JP" in text
    assert "Reception Report" in text  # R7


def test_second_billing_warns_of_abandonment() -> None:
    text = body("order.second_billing_issued", {"billing": {"seq": 2, "total": 3200, "due_at": "2026-12-30T00:00:00Z"}})
    assert "2nd payment" in text and "¥3,200" in text and "abandoned" in text  # R11, R12


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("payment", "canceled automatically"),  # R5
        ("arrival", "have not arrived"),  # R6
        ("second_billing", "abandoned"),  # R11
        ("something_new", "deadline on your order"),
    ],
)
def test_r13_deadline_reminders_say_what_happens_at_the_deadline(kind: str, words: str) -> None:
    text = body("order.deadline_reminder", {"deadline": {"kind": kind, "due_at": "2026-12-01T15:00:00Z"}})
    assert text.startswith("Reminder")
    assert words in text
    assert "02 Dec 2026 00:00 JST" in text


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("customer_request", "as you requested"),
        ("auto_unpaid_estimate", "payment was not received"),
        ("items_not_arrived", "did not arrive"),
        ("unable_to_purchase", "refunded to your deposit"),
        ("warehouse fire", "Reason: warehouse fire."),
    ],
)
def test_cancel_notice_explains_the_reason(reason: str, words: str) -> None:
    assert words in body("order.canceled", {"reason": reason, "closed_at": "2026-11-26T00:00:00Z"})


def test_completion_abandonment_and_dispute() -> None:
    assert "complete" in body("order.completed", {})
    assert "90 days" in body("order.completed", {})
    assert "discarded" in body("order.abandoned", {})
    assert "attach photos" in body("order.disputed", {})  # R8


def test_completion_notice_follows_the_configured_window() -> None:
    notice = notice_for("order.completed", {}, window_days=60)
    assert notice is not None and "60 days" in notice.body


@pytest.mark.parametrize("event_type", sorted([*NOTICES, "order.completed"]))
def test_every_notice_survives_an_event_with_no_optional_fields(event_type: str) -> None:
    for data in ({}, {"billing": None, "item": "oops", "shipment": [], "deadline": 3, "amount": 12.5}):
        notice = notice_for(event_type, data)
        if notice is not None:
            assert notice.body and "None" not in notice.body


def test_money_that_is_not_integer_yen_is_left_out() -> None:
    assert body("order.paid", {"amount": 12.5}) == "We have received your payment."
    assert body("order.paid", {"amount": "100"}) == "We have received your payment."


def test_unknown_event_types_give_no_notice() -> None:
    assert notice_for("order.applied", {}) is None
    assert notice_for("order.something_new", {"status": "x"}) is None
