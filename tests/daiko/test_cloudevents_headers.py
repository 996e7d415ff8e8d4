"""The CloudEvents binary-mode headers the outbox relay sends, from a stored envelope, without the stack."""

from __future__ import annotations

from datetime import UTC, datetime

from daiko.events import Envelope, kafka_headers


def test_the_headers_repeat_the_envelope_attributes_and_say_the_body_is_a_structured_event() -> None:
    event = Envelope(
        id="e-1",
        type="order.paid",
        source="daiko/orders",
        time=datetime(2026, 11, 26, 1, 0, tzinfo=UTC),
        subject="P261126-ABCD",
        data={"order_id": "P261126-ABCD"},
    )
    assert dict(kafka_headers(event.to_bytes())) == {
        "ce_specversion": b"1.0",
        "ce_id": b"e-1",
        "ce_type": b"order.paid",
        "ce_source": b"daiko/orders",
        "ce_time": b"2026-11-26T01:00:00+00:00",
        "ce_subject": b"P261126-ABCD",
        "content-type": b"application/cloudevents+json; charset=UTF-8",
    }


def test_bytes_that_are_not_an_envelope_still_leave_without_headers() -> None:
    assert kafka_headers(b"not an envelope") == []
