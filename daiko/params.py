"""HTTP path and query parameters of ids: the one id type and limit of :mod:`contracts.ids`, everywhere.

Every service names its ids in paths and filters with these aliases, so an id
a service accepts over HTTP is exactly one that every other service's columns
and every event can hold (at most ``ID_MAX_LENGTH`` characters, no control
character), and the OpenAPI documents say so (``maxLength``, ``pattern``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from contracts.ids import CustomerId, Id, OrderId, PayInReportId, WithdrawalId

OrderIdPath = Annotated[OrderId, Path(description="The order's id", examples=["P261126-7KQ2M9XA"])]
CustomerIdPath = Annotated[CustomerId, Path(description="The customer's id (their token's subject)")]
WithdrawalIdPath = Annotated[WithdrawalId, Path(description="The withdrawal request's id")]
PayInReportIdPath = Annotated[PayInReportId, Path(description="The pay-in report's id")]
IdPath = Annotated[Id, Path(description="An id in this service")]
CustomerFilter = Annotated[CustomerId | None, Query(description="Only this customer's")]
