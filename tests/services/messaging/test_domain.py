"""Pure rules of messaging: R3's window at its edges, folding order events, photo checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.orders import OrderEvent
from contracts.topics import ORDERS_EVENTS, topic
from services.messaging.domain import (
    BodyProblem,
    ImageKind,
    OrderFacts,
    OrderState,
    check_body,
    message_window,
    next_order_state,
    order_facts,
    safe_filename,
    service_shown_by,
    sniff_image,
)
from tests.contracts.examples import billing, order_event
from tests.services.messaging import images

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=90)


# ---------------------------------------------------------------- R3


@pytest.mark.parametrize("status", ["applied", "estimated", "paid", "shipped", "disputed", None])
def test_r3_ongoing_orders_are_always_open(status: str | None) -> None:
    assert message_window(status, None, NOW, WINDOW).open


@pytest.mark.parametrize("status", ["completed", "canceled", "abandoned"])
def test_r3_window_is_open_just_inside_90_days(status: str) -> None:
    closed_at = NOW - WINDOW + timedelta(microseconds=1)
    assert message_window(status, closed_at, NOW, WINDOW).open


@pytest.mark.parametrize("status", ["completed", "canceled", "abandoned"])
def test_r3_window_is_shut_at_exactly_90_days(status: str) -> None:
    """'Less than 90 days ago' is strict."""
    decision = message_window(status, NOW - WINDOW, NOW, WINDOW)
    assert not decision.open
    assert "less than 90 days" in decision.reason


def test_r3_window_is_shut_just_outside_and_says_why() -> None:
    closed_at = NOW - WINDOW - timedelta(seconds=1)
    decision = message_window("canceled", closed_at, NOW, WINDOW)
    assert not decision.open
    assert "canceled on 28 Aug 2026 20:59 JST" in decision.reason  # as every notice writes a date


def test_r3_closed_yesterday_is_open_and_clock_skew_never_shuts_it() -> None:
    assert message_window("completed", NOW - timedelta(days=1), NOW, WINDOW).open
    assert message_window("completed", NOW + timedelta(hours=1), NOW, WINDOW).open


def test_r3_closed_order_with_unknown_closing_time_stays_open() -> None:
    assert message_window("completed", None, NOW, WINDOW).open


def test_r3_window_length_is_configuration() -> None:
    closed_at = NOW - timedelta(days=10)
    assert not message_window("completed", closed_at, NOW, timedelta(days=7)).open
    assert message_window("completed", closed_at, NOW, timedelta(days=30)).open


# ---------------------------------------------------------------- order events


def _read(event_type: str, **fields: Any) -> OrderEvent:
    event = topic(ORDERS_EVENTS).parse(event_type, order_event(event_type, order_id="ord-1", **fields))
    assert isinstance(event, OrderEvent)
    return event


def test_a_closing_event_closes_the_order_at_the_event_time() -> None:
    facts = order_facts(_read("order.canceled", customer_id="c1"), NOW)
    assert (facts.status, facts.closed_at, facts.order_id, facts.customer_id) == ("canceled", NOW, "ord-1", "c1")


def test_an_event_of_an_ongoing_order_names_no_closing_time() -> None:
    facts = order_facts(_read("order.paid"), NOW)
    assert (facts.status, facts.closed_at, facts.event_time) == ("purchasing", None, NOW)


def _facts(
    status: str | None, at: datetime, customer: str | None = "c1", closed_at: datetime | None = None
) -> OrderFacts:
    return OrderFacts("ord-1", customer, status, "purchase", closed_at, at)


def test_owner_never_changes_once_known() -> None:
    state = next_order_state(None, _facts("applied", NOW))
    state = next_order_state(state, _facts("estimated", NOW + timedelta(minutes=1), customer="intruder"))
    assert state.customer_id == "c1" and state.status == "estimated"


def test_owner_learnt_from_a_later_event_when_the_first_lacked_it() -> None:
    state = next_order_state(None, _facts("applied", NOW, customer=None))
    assert state.customer_id is None
    assert next_order_state(state, _facts("estimated", NOW, customer="c1")).customer_id == "c1"


def test_a_late_older_event_cannot_reopen_a_closed_order() -> None:
    closed = next_order_state(None, _facts("completed", NOW, closed_at=NOW))
    after = next_order_state(closed, _facts("shipped", NOW - timedelta(days=3)))
    assert (after.status, after.closed_at) == ("completed", NOW)


def test_an_event_without_status_keeps_the_status() -> None:
    state = OrderState("c1", "paid", "purchase", None, NOW)
    assert next_order_state(state, _facts(None, NOW + timedelta(seconds=1))).status == "paid"


FEES_ONLY = [{"kind": "service_fee", "description": "Service fee", "amount": 1500, "item_id": None}]


@pytest.mark.parametrize(
    ("event_type", "fields", "service"),
    [
        ("order.estimated", {"contact": "handling_availability", "billing": billing(lines=FEES_ONLY)}, "forward"),
        ("order.estimated", {"contact": "estimate", "billing": billing()}, "purchase"),  # it bills the items
        ("order.estimated", {"contact": "estimate", "billing": billing(lines=FEES_ONLY)}, "forward"),  # re-estimate
        ("order.estimated", {"contact": "amendment", "billing": billing(lines=FEES_ONLY)}, "forward"),
        ("order.item_updated", {"item_status": "purchased", "status": "purchasing"}, "purchase"),
        ("order.paid", {"status": "purchasing"}, "purchase"),
        ("order.paid", {"status": "awaiting_arrival"}, "forward"),
        ("order.item_updated", {"item_status": "unavailable", "status": "awaiting_arrival"}, "forward"),
        ("order.applied", {"service_type": "forward"}, "forward"),  # the application names it
        ("order.applied", {"service_type": "purchase"}, "purchase"),
        ("order.applied", {}, None),  # an application from before it named the service
        ("order.canceled", {}, None),
        ("order.item_updated", {"item_status": "requested", "status": "awaiting_payment"}, None),
    ],
)
def test_the_service_is_learnt_from_the_events_that_can_only_happen_to_it(
    event_type: str, fields: dict[str, Any], service: str | None
) -> None:
    event = _read(event_type, **fields)
    assert service_shown_by(event) == service
    assert order_facts(event, NOW).service_type == service


def test_the_service_named_by_the_application_is_kept_from_the_first_event() -> None:
    state = next_order_state(None, order_facts(_read("order.applied", service_type="forward"), NOW))
    state = next_order_state(state, order_facts(_read("order.canceled"), NOW + timedelta(minutes=1)))
    assert state.service_type == "forward"


def test_the_service_once_learnt_is_kept_by_events_that_do_not_show_it() -> None:
    state = next_order_state(None, order_facts(_read("order.estimated", billing=billing()), NOW))
    state = next_order_state(state, order_facts(_read("order.canceled"), NOW + timedelta(minutes=1)))
    assert state.service_type == "purchase"


# ---------------------------------------------------------------- photos and text


@pytest.mark.parametrize(
    ("content", "kind"),
    [(images.png(), ImageKind.PNG), (images.jpeg(), ImageKind.JPEG), (images.webp(), ImageKind.WEBP)],
)
def test_real_images_are_recognised_by_content(content: bytes, kind: ImageKind) -> None:
    assert sniff_image(content) is kind


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just text, named photo.png",
        b"GIF89a\x01\x00\x01\x00",
        b"%PDF-1.7\n",
        b"\x89PNG\r\n\x1a\n",  # a PNG signature with nothing behind it
        b"RIFF\x10\x00\x00\x00WAVEfmt ",  # RIFF, but audio
    ],
)
def test_anything_else_is_not_an_image(content: bytes) -> None:
    assert sniff_image(content) is None


def test_message_text_must_have_content_and_a_bounded_length() -> None:
    assert check_body("  \n\t", 10) is BodyProblem.EMPTY
    assert check_body("x" * 11, 10) is BodyProblem.TOO_LONG
    assert check_body("x" * 10, 10) is None


def test_download_names_keep_the_customers_stem_but_our_extension() -> None:
    assert safe_filename("../../etc/passwd.png", ImageKind.JPEG, 0) == "passwd.jpg"
    assert safe_filename('a"b\r\nc.webp', ImageKind.WEBP, 0) == "abc.webp"
    assert safe_filename(None, ImageKind.PNG, 2) == "photo-3.png"
    assert safe_filename("傷.jpeg", ImageKind.JPEG, 0) == "傷.jpg"
