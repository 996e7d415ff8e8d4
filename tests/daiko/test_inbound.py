"""What the consumer refuses before the database, and how a dead letter's text is made storable (no stack)."""

from __future__ import annotations

import json

import pytest

from daiko.dead_letters import safe_text
from daiko.events import Envelope
from daiko.inbound import Unreadable, read_envelope


def _raw(**fields: object) -> bytes:
    return json.dumps({"id": "e-1", "type": "test.added", "source": "t", "subject": "s", "data": {}} | fields).encode()


def test_a_canonical_envelope_is_read() -> None:
    event = read_envelope(_raw(id="charge:P261126-7KQ2M9XA:1:1", data={"amount": 1200}))
    assert isinstance(event, Envelope) and event.data == {"amount": 1200}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_raw(id=""), "envelope id must be 1 to 64"),
        (_raw(id="a b"), "envelope id must be"),
        (_raw(id="é"), "envelope id must be"),
        (_raw(type="Test.Added"), "envelope type must be"),
        (_raw(subject="a\u0000"), "NUL character in envelope.subject"),
        (_raw(data={"items": [{"name": "\u0000"}]}), "NUL character in envelope.data.items[0].name"),
        (b"", "not a valid event envelope"),
        (b"\xc3\x28", "body is not UTF-8: byte 0xc3 at position 0"),
        (_raw(data={"blob": "z" * 2000}), "exceeds the limit of 1000 bytes"),
    ],
)
def test_what_could_never_be_applied_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Unreadable) as refused:
        read_envelope(raw, max_body_bytes=1000)
    assert reason in str(refused.value)


def test_the_readable_part_of_a_refused_envelope_is_kept_for_the_dead_letter() -> None:
    with pytest.raises(Unreadable) as refused:
        read_envelope(_raw(id="x" * 65, type="test.added"))
    assert (refused.value.event_id, refused.value.event_type) == ("x" * 65, "test.added")


def test_dead_letter_text_is_always_storable() -> None:
    assert safe_text("a\x00b", 10) == "a\\x00b"
    assert safe_text("lone \ud800 surrogate", 100) == "lone \\ud800 surrogate"
    assert safe_text("y" * 250, 200) == "y" * 200 + "…[50 more characters]"
    assert safe_text("short", 200) == "short"
