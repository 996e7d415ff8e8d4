"""Reading one Kafka record into an event envelope, refusing at once what no retry could ever apply.

Whatever a producer writes reaches the consumer: any length, any bytes. Before
an envelope touches the database it is checked here, so that a message which
cannot be stored or de-duplicated (an id too long for ``processed_events``, a
NUL that PostgreSQL text and JSONB refuse, bytes that are not UTF-8, a body of
megabytes) is dead-lettered with the reason on its first attempt instead of
failing inside the transaction, and being retried, for ever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import ValidationError

from daiko.events import Envelope

MAX_EVENT_ID = 64
"""Matches ``processed_events.event_id``: an id longer than this could never be recorded as applied."""
MAX_EVENT_TYPE = 200
MAX_BODY_BYTES = 1024 * 1024
"""Kafka's own default message limit: every Daiko event is a few kilobytes, a larger body is not one of ours."""

# Printable ASCII without spaces: uuids, and the deterministic ids the workflow and the ledger build
# ("charge:<order>:1:1"). One spelling per id, so the de-duplication cannot be dodged by a look-alike.
_CANONICAL_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_EVENT_ID}}}")
_CANONICAL_TYPE = re.compile(rf"[a-z0-9][a-z0-9._-]{{0,{MAX_EVENT_TYPE - 1}}}")


class Unreadable(ValueError):
    """The record can never become an applicable envelope; the message says why, for the dead letter.

    ``event_id`` and ``event_type`` are what could be read of the envelope (unchecked, for staff to
    search by), ``None`` when the body was not an envelope at all.
    """

    def __init__(self, reason: str, *, event_id: str | None = None, event_type: str | None = None) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.event_type = event_type


def read_envelope(raw: bytes, *, max_body_bytes: int = MAX_BODY_BYTES) -> Envelope:
    """The envelope in ``raw``, or :class:`Unreadable` naming the first thing that makes it unusable."""
    if len(raw) > max_body_bytes:
        raise Unreadable(f"body of {len(raw)} bytes exceeds the limit of {max_body_bytes} bytes")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"body is not UTF-8: byte {raw[exc.start]:#04x} at position {exc.start}") from None
    try:
        event = Envelope.from_bytes(raw)
    except ValidationError as exc:
        raise Unreadable(f"not a valid event envelope: {exc}") from None
    found = {"event_id": event.id, "event_type": event.type}
    if not _CANONICAL_ID.fullmatch(event.id):
        raise Unreadable(
            f"envelope id must be 1 to {MAX_EVENT_ID} printable ASCII characters without spaces "
            f"(got {len(event.id)} characters: {_preview(event.id)})",
            **found,
        )
    if not _CANONICAL_TYPE.fullmatch(event.type):
        raise Unreadable(
            f"envelope type must be 1 to {MAX_EVENT_TYPE} of a-z, 0-9, '.', '_', '-' "
            f"(got {len(event.type)} characters: {_preview(event.type)})",
            **found,
        )
    for where, text in _strings(event.model_dump(mode="json"), "envelope"):
        if "\x00" in text:
            raise Unreadable(f"NUL character in {where}: PostgreSQL cannot store it", **found)
    return event


def _strings(value: object, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, keys included, with the path to it."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where} key", str(key)
            yield from _strings(item, f"{where}.{key}"[:200])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]"[:200])


def _preview(text: str, limit: int = 80) -> str:
    """A short, printable rendering of untrusted text for an error message."""
    shown = ascii(text[:limit])
    return shown if len(text) <= limit else f"{shown}… (+{len(text) - limit} characters)"
