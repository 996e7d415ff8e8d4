"""Tables of the deposits database.

``accounts`` and ``transfers`` are the ledger. Transfers are immutable (a
trigger refuses UPDATE and DELETE, see the migration); an account's four sums
are a cache of its transfers, updated in the same transaction under the
account's row lock and checked against them by the audit. CHECK constraints
repeat the ledger's invariants so that even a bug in this code cannot store a
negative deposit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.db import new_metadata
from daiko.tables import DeadLetter as DeadLetter  # the plumbing's tables, used through this module
from daiko.tables import Outbox as Outbox
from daiko.tables import ProcessedEvent as ProcessedEvent


class Base(DeclarativeBase):
    metadata = new_metadata()


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name="sums_not_negative",
        ),
        CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
            name="debits_must_not_exceed_credits",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    order_id: Mapped[str | None] = mapped_column(String(100))
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TransferRow(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(
            "(phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)", name="resolution_names_hold"
        ),
        Index("ix_transfers_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    phase: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    debit_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    # A post or void names the hold it resolves; unique: a hold is resolved once.
    pending_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transfers.id"), unique=True)
    # The customer whose deposit this transfer touches, and that deposit right after it.
    customer_id: Mapped[str] = mapped_column(String(100))
    balance_after: Mapped[int] = mapped_column(BigInteger)
    held_after: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[str | None] = mapped_column(String(100), index=True)
    billing_seq: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayInReport(Base):
    """A customer's report of a bank transfer to the agency; credited only when staff confirm."""

    __tablename__ = "pay_in_reports"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("credited_amount IS NULL OR credited_amount > 0", name="credited_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    transfer_date: Mapped[date] = mapped_column(Date)
    sender_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    credited_amount: Mapped[int | None] = mapped_column(BigInteger)
    staff_note: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transfers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayPalOrder(Base):
    """A card pay-in through PayPal; the capture id is what credits the deposit, once."""

    __tablename__ = "paypal_orders"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # PayPal's order id
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    approve_url: Mapped[str] = mapped_column(Text)
    capture_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    capture_status: Mapped[str | None] = mapped_column(String(32))
    failure: Mapped[str | None] = mapped_column(String(100))
    # Capture calls that PayPal declined: each new attempt (after the buyer re-approved) gets its own
    # PayPal-Request-Id, while a retry of one attempt reuses its id and gets PayPal's first answer.
    declined_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transfers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Withdrawal(Base):
    """A withdrawal request; its amount is held from the moment it is made.

    The destination (a Japanese bank account, an IBAN account or a PayPal
    account, ``method``) is sealed (AES-GCM) at rest; only its masked form is
    kept in clear (``destination``), and only that ever leaves through the
    customer API, the events or the logs. Staff read it unsealed to pay it out.
    """

    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method IN ('japanese_bank', 'iban', 'paypal')", name="method_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    method: Mapped[str] = mapped_column(String(16), server_default="japanese_bank")
    destination: Mapped[dict[str, str]] = mapped_column(JSONB)
    sealed_destination: Mapped[bytes] = mapped_column(LargeBinary)
    hold_transfer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("transfers.id"))
    resolution_transfer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transfers.id"))
    payout_reference: Mapped[str | None] = mapped_column(String(100))
    staff_note: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
