"""Tables of the orders database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.db import new_metadata
from daiko.tables import DeadLetter as DeadLetter  # the plumbing's tables, used through this module
from daiko.tables import Outbox as Outbox
from daiko.tables import ProcessedEvent as ProcessedEvent


class Base(DeclarativeBase):
    metadata = new_metadata()


class AppliedOrder(Base):
    """Every application the API accepted, written before its workflow is started.

    It is the idempotency record (same customer + ``Idempotency-Key`` -> same
    order id, and the fingerprint tells a replay from a different application
    under a reused key), and it lets the API answer for an order in the moment
    between the workflow's start and the read model's first row.
    """

    __tablename__ = "applied_orders"
    __table_args__ = (Index("uq_applied_orders_customer_key", "customer_id", "idempotency_key", unique=True),)

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderRecord(Base):
    """The read model of one order: the workflow's latest view, written by its activity.

    ``version`` is the workflow's transition number: the projection only
    overwrites a row with a newer version, so a late activity retry never
    replaces newer state. ``view`` is the full ``OrderView`` (R1) as JSON; the
    other columns are copies for lists and filters.
    """

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    service_type: Mapped[str] = mapped_column(String(16))
    payment_plan: Mapped[str] = mapped_column(String(16))
    next_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    view: Mapped[dict[str, object]] = mapped_column(JSONB)
    # The workflow run that wrote this version: a run reset away (terminated, a new run started from an
    # earlier point) leaves a read model the new run's lower versions can never replace (halts/service.py).
    run_id: Mapped[str | None] = mapped_column(String(64))
    # The staff part of the same version (internal notes, rejected signals, staff alerts): never inside
    # ``view``, which the customer is served as stored; only the staff API reads it.
    staff_view: Mapped[dict[str, object] | None] = mapped_column(JSONB)


# The order lists read newest first (per customer, and for staff across all orders): keyset paging by these.
Index(
    "ix_orders_customer_newest",
    OrderRecord.customer_id,
    OrderRecord.created_at.desc(),
    OrderRecord.order_id.desc(),
)
Index("ix_orders_newest", OrderRecord.created_at.desc(), OrderRecord.order_id.desc())


class LedgerMovement(Base):
    """Every charge and refund the ledger signed for an order, as the deposit bridge received it.

    The orders' side of reconciliation: what the ledger says moved for each
    order (only answers whose signature verifies are kept), to compare with
    what the read model believes was paid and refunded.
    """

    __tablename__ = "ledger_movements"

    transfer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(100), index=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # charge | refund
    idempotency_key: Mapped[str] = mapped_column(String(250))
    amount: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HaltedOrder(Base):
    """An order whose workflow ended abnormally, and how staff settle the money it holds.

    Written when the orders service notices the ending (its sweep over Temporal's
    visibility, or an operation or deposit answer that met a closed workflow).
    The read-model row of the order then shows status ``halted``; this row
    keeps what only staff need: how the workflow ended and the settlement
    refund (its ledger key, who asked for it, the deposit's answer). What the
    order holds is read from the order's view, the one place paid and refunded
    totals are kept.
    """

    __tablename__ = "halted_orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    status_before: Mapped[str] = mapped_column(String(32))  # what the customer saw before it halted
    cause: Mapped[str] = mapped_column(String(32))  # terminated | failed | timed_out | canceled | missing
    run_id: Mapped[str | None] = mapped_column(String(64))
    workflow_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    detected_by: Mapped[str] = mapped_column(String(32))  # sweep | operation | deposit answer
    # The settlement: one refund at a time through the deposit, under its ledger key.
    refund_key: Mapped[str | None] = mapped_column(String(200))
    refund_amount: Mapped[int | None] = mapped_column(BigInteger)
    refund_requested_by: Mapped[str | None] = mapped_column(String(128))
    refund_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settlement: Mapped[str | None] = mapped_column(String(16))  # requested | refunded | rejected
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settlement_detail: Mapped[str | None] = mapped_column(Text)


Index("ix_halted_orders_newest", HaltedOrder.detected_at.desc(), HaltedOrder.order_id.desc())


class OrderMessage(Base):
    """The orders service's copy of one visible message of an order's thread, from messaging's ``message.posted``.

    Services share no database: the order-details view (R1) shows the latest
    messages and the unread count from this copy, read in the same round trip
    as the view itself, instead of calling the messaging service per page view.
    """

    __tablename__ = "order_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)  # None only for events published before ``seq`` existed
    author_role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    notice_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    attachment_count: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index(
    "ix_order_messages_order_latest",
    OrderMessage.order_id,
    OrderMessage.seq.desc().nulls_last(),
    OrderMessage.posted_at.desc(),
)


class OrderMessageReads(Base):
    """How far each side has read an order's thread (messaging's ``message.read``): cursors only move forward."""

    __tablename__ = "order_message_reads"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_read_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    staff_read_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
