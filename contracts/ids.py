"""The identifiers and money every event carries, with one set of limits for all services.

Every id travels as text of at most :data:`ID_MAX_LENGTH` characters without
NUL or other control characters: the smallest id column of any service
(messaging's threads, the deposit ledger) holds it, and PostgreSQL text could
not hold a NUL anyway. Money is whole yen, never negative, and never beyond
what a JSON number carries exactly (``2**53 - 1``), so a JavaScript subscriber
reads the same amount we wrote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, PlainSerializer, StringConstraints

ID_MAX_LENGTH = 100
"""One limit for every id on the wire (it used to be 128 in orders and 100 elsewhere)."""

ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""Any character but NUL and the other control characters."""

TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Free text: line breaks and tabs allowed, no NUL and no other control character."""

YEN_MAX = 2**53 - 1
"""The largest integer a JSON number holds exactly in every language."""

Id = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]

OrderId = Annotated[Id, Field(description="The order's id, e.g. P261126-ABCD.")]
CustomerId = Annotated[Id, Field(description="The customer's id (the subject of their token).")]
EventId = Annotated[Id, Field(description="An event's or command's id; consumers de-duplicate on it.")]
ItemId = Annotated[Id, Field(description="An item's number within its order, as text ('1', '2', ...).")]
MessageId = Annotated[Id, Field(description="A message's id in an order's message history.")]
WithdrawalId = Annotated[Id, Field(description="A withdrawal request's id.")]
PayInReportId = Annotated[Id, Field(description="A bank-transfer pay-in report's id.")]

Yen = Annotated[int, Field(strict=True, ge=0, le=YEN_MAX, description="Whole yen.")]
PositiveYen = Annotated[int, Field(strict=True, gt=0, le=YEN_MAX, description="Whole yen, more than zero.")]
Count = Annotated[int, Field(strict=True, ge=0)]
TransferId = Annotated[int, Field(strict=True, ge=1, description="The deposit ledger's transfer that moved the money.")]
BillingSeq = Annotated[int, Field(strict=True, ge=1, le=2, description="1: the first or single billing, 2: the 2nd.")]
Revision = Annotated[int, Field(strict=True, ge=1, description="The billing's revision; a re-estimate adds one.")]

Text = Annotated[str, StringConstraints(strict=True, max_length=10_000)]
"""Free text written by people (names, notes, reasons): anything but unbounded."""


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


IsoMoment = Annotated[
    AwareDatetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    Field(description="An ISO-8601 time with its offset."),
]
"""A time written with ``datetime.isoformat()`` (``+00:00``), as the producers always have."""
