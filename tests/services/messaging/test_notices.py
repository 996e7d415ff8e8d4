"""The words of system notices (R13 reminders included), from order events read with their contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import ContractViolation
from contracts.topics import ORDERS_EVENTS, topic
from services.messaging.notices import notice_for
from tests.contracts.examples import REQUIRED, billing, order_event


def body(event_type: str, **fields: Any) -> str:
    notice = notice_for(event_type, order_event(event_type, **fields))
    assert notice is not None
    return notice.body


def test_estimate_ready_gives_the_amount_and_the_deadline_in_japan_time() -> None:
    text = body("order.estimated", billing=billing(total=12345), due_at="2026-12-03T00:00:00+00:00")
    assert "estimate of your order is ready" in text
    assert "¥12,345" in text
    assert "03 Dec 2026 09:00 JST" in text
    assert "canceled automatically" in text  # R5


def test_a_re_estimate_says_it_was_revised() -> None:
    assert "revised" in body("order.estimated", billing=billing(revision=2, total=100), re_estimate=True)


def test_payment_received_with_amount() -> None:
    assert body("order.paid", billing_seq=1, amount=5000).startswith(
        "We have received your payment of ¥5,000. Thank you."
    )


def test_a_rejected_payment_tells_how_much_the_deposit_is_short() -> None:
    notice = notice_for("order.payment_rejected", order_event("order.payment_rejected", shortfall=1200))
    assert notice is not None and notice.notice_type == "payment_rejected"
    assert "¥1,200 short" in notice.body and "pay in" in notice.body


@pytest.mark.parametrize(
    ("status", "words"),
    [("purchased", "We have purchased Blue mug."), ("unavailable", "could not buy Blue mug")],
)
def test_item_purchased_or_unavailable(status: str, words: str) -> None:
    assert words in body("order.item_updated", item_id="1", name="Blue mug", item_status=status)


def test_shipped_names_carrier_and_every_tracking_number() -> None:
    text = body("order.shipped", method="EMS", carrier="Japan Post", tracking_numbers=["EJ123JP", "EJ456JP"])
    assert "Japan Post" in text and "EMS" in text
    assert "EJ123JP, EJ456JP" in text
    assert "Reception Report" in text  # R7


def test_second_billing_warns_of_abandonment() -> None:
    text = body("order.second_billing_issued", billing=billing(seq=2, total=3200), due_at="2026-12-30T00:00:00+00:00")
    assert "2nd payment" in text and "¥3,200" in text and "abandoned" in text  # R11, R12


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("payment", "canceled automatically"),  # R5
        ("arrival", "have not arrived"),  # R6
        ("abandonment", "abandoned"),  # R11
        ("completion", "completed automatically"),  # R7
    ],
)
def test_r13_deadline_reminders_say_what_happens_at_the_deadline(kind: str, words: str) -> None:
    text = body("order.deadline_reminder", deadline=kind, due_at="2026-12-01T15:00:00+00:00")
    assert text.startswith("Reminder")
    assert words in text
    assert "02 Dec 2026 00:00 JST" in text


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("customer_request", "as you requested"),
        ("payment_timeout", "payment was not received"),
        ("arrival_timeout", "did not arrive"),
        ("unavailable", "Reason: Out of stock everywhere."),
        ("staff", "Reason: Out of stock everywhere."),
    ],
)
def test_cancel_notice_explains_the_reason_and_the_refund(reason: str, words: str) -> None:
    text = body("order.canceled", reason=reason, detail="Out of stock everywhere", refund_amount=12300)
    assert words in text
    assert "¥12,300, has been refunded to your deposit" in text
    assert "Reason: staff" not in text


def test_completion_abandonment_and_dispute() -> None:
    assert "complete" in body("order.completed")
    assert "90 days" in body("order.completed")
    assert "discarded" in body("order.abandoned")
    assert "attach photos" in body("order.disputed")  # R8


def test_completion_notice_follows_the_configured_window() -> None:
    notice = notice_for("order.completed", order_event("order.completed"), window_days=60)
    assert notice is not None and "60 days" in notice.body


@pytest.mark.parametrize("event_type", sorted(REQUIRED))
def test_every_notice_reads_without_its_optional_fields(event_type: str) -> None:
    fields = topic(ORDERS_EVENTS).model_of(event_type).model_fields
    data = {k: v for k, v in order_event(event_type).items() if fields[k].is_required()}
    notice = notice_for(event_type, data)
    if notice is not None:
        assert notice.body and "None" not in notice.body


@pytest.mark.parametrize(
    ("event_type", "broken"),
    [
        ("order.paid", {"amount": 12.5}),
        ("order.paid", {"amount": "100"}),
        ("order.estimated", {"billing": None}),
        ("order.item_updated", {"item": {"name": "x"}}),
        ("order.shipped", {"tracking_numbers": "EJ1JP"}),
        ("order.deadline_reminder", {"deadline": 3}),
    ],
)
def test_an_event_that_breaks_its_contract_gives_no_notice_but_the_reason(
    event_type: str, broken: dict[str, Any]
) -> None:
    data = order_event(event_type) | broken
    with pytest.raises(ContractViolation, match=next(iter(broken))):
        notice_for(event_type, data)


def test_events_with_nothing_to_tell_give_no_notice_and_unknown_types_are_refused() -> None:
    assert notice_for("order.applied", order_event("order.applied")) is None
    assert notice_for("order.payment_requested", order_event("order.payment_requested")) is None
    with pytest.raises(ContractViolation, match="not a type"):
        notice_for("order.something_new", {"status": "x"})


def test_a_staff_alert_never_reaches_the_customer_not_even_with_staff_words() -> None:
    alert = order_event("order.staff_alert", staff_message="Please estimate this one today")
    assert notice_for("order.staff_alert", alert) is None


def test_the_estimate_deadline_is_staffs_so_its_reminder_tells_the_customer_nothing() -> None:
    reminder = order_event(
        "order.deadline_reminder", status="applied", deadline="estimate", rule="estimate", billing_seq=None, amount=None
    )
    assert notice_for("order.deadline_reminder", reminder) is None


CLOSED = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("event_type", ["order.completed", "order.canceled", "order.abandoned"])
def test_a_notice_that_closes_the_order_says_when_it_closed(event_type: str) -> None:
    notice = notice_for(event_type, order_event(event_type), at=CLOSED)
    assert notice is not None and notice.data["closed_at"] == "2026-12-05T03:00:00+00:00"


@pytest.mark.parametrize("event_type", ["order.estimated", "order.shipped", "order.paid", "order.deadline_moved"])
def test_a_notice_of_an_open_order_has_no_closing_time(event_type: str) -> None:
    notice = notice_for(event_type, order_event(event_type), at=CLOSED)
    assert notice is not None and "closed_at" not in notice.data


def test_staffs_words_end_the_notice_and_are_kept_as_typed_in_its_data() -> None:
    said = "Tracking may take a day to show.\nThank you for waiting!"
    notice = notice_for("order.shipped", order_event("order.shipped", staff_message=said))
    assert notice is not None
    assert notice.body.endswith("Message from our staff: Tracking may take a day to show. Thank you for waiting!")
    assert notice.data["staff_message"] == said


def test_a_moved_deadline_names_the_new_date_as_the_one_that_holds() -> None:
    moved = order_event(
        "order.deadline_moved",
        due_at="2026-12-06T15:00:00Z",
        previous_due_at="2026-12-08T15:00:00Z",
    )
    notice = notice_for("order.deadline_moved", moved)
    assert notice is not None
    assert notice.body == (
        "We have moved the payment deadline of your billing to 07 Dec 2026 00:00 JST (previously 09 Dec 2026 00:00 "
        "JST). If it is not paid by then, the order will be canceled automatically."
    )
    assert notice.data == {
        "deadline": {
            "kind": "payment",
            "due_at": "2026-12-06T15:00:00+00:00",
            "previous_due_at": "2026-12-08T15:00:00+00:00",
        },
        "billing_seq": 1,
    }
