"""Request and response bodies of the staff's halted-orders API (``/v1/staff/halted-orders``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

_EXAMPLE: dict[str, Any] = {
    "order_id": "P261126-7KQ2M9XA",
    "customer_id": "cust-42",
    "status_before": "purchasing",
    "cause": "terminated",
    "explanation": "This order was halted: its processing was stopped by an operator, so it cannot continue ...",
    "halted_at": "2026-11-27T09:00:00Z",
    "detected_by": "sweep",
    "run_id": "0194b6f0-5c0e-7d2a-9d6b-3f1e2a4b5c6d",
    "workflow_ended_at": "2026-11-27T08:59:30Z",
    "paid_total": 11860,
    "refunded_total": 0,
    "held": 11860,
    "settlement": None,
    "refund_key": None,
    "refund_amount": None,
    "refund_requested_by": None,
    "refund_requested_at": None,
    "settled_at": None,
}


class HaltedOrder(BaseModel):
    """A halted order as staff settle it: how its workflow ended and the money it holds (paid minus refunds)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    order_id: str
    customer_id: str
    status_before: str = Field(description="the order's status when it halted")
    cause: str = Field(description="how the workflow ended: terminated, failed, timed_out, canceled or missing")
    explanation: str = Field(description="what the customer reads on the order")
    halted_at: datetime
    detected_by: str = Field(description="sweep, operation or deposit answer")
    run_id: str | None
    workflow_ended_at: datetime | None
    paid_total: int
    refunded_total: int = Field(description="refunds done or on their way, the workflow's own and the settlement's")
    held: int = Field(description="paid_total - refunded_total: what a settlement refunds to the deposit")
    settlement: Literal["requested", "refunded", "rejected"] | None
    refund_key: str | None
    refund_amount: int | None
    refund_requested_by: str | None = Field(description="the staff member (token subject) who asked for it")
    refund_requested_at: datetime | None
    settled_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Self:
        paid, refunded = row["paid_total"] or 0, row["refunded_total"] or 0
        return cls.model_validate(
            {
                **row,
                "halted_at": row["detected_at"],
                "explanation": row["explanation"] or "",
                "paid_total": paid,
                "refunded_total": refunded,
                "held": paid - refunded,
            }
        )


class HaltedOrderPage(BaseModel):
    """A page of halted orders, newest halt first; pass ``next_cursor`` as ``cursor`` for the next page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"orders": [_EXAMPLE], "next_cursor": None}]})

    orders: list[HaltedOrder]
    next_cursor: str | None = None


class SettlementIn(BaseModel):
    """Refund everything the halted order holds to the customer's deposit; ``note`` goes with the refund."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "workflow terminated by mistake"}]}
    )

    note: Annotated[str, Field(max_length=500)] = ""
