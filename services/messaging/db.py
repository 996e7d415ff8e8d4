"""Tables of the messaging database.

``threads`` holds one row per order that an order event has announced: what
messaging knows of the order (owner, status, closing time — learnt only from
``daiko.orders.events.v1``) and the summary staff sort by (awaiting a reply)
plus each side's read cursor. ``messages`` holds customer and staff messages
and system notices; ``seq`` is arrival order (read cursors count by it) and a
thread reads by ``created_at`` then ``seq`` (a notice's time is its event's).
Only earlier versions wrote ``pending`` messages (on orders not yet announced).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daiko.db import new_metadata
from daiko.tables import DeadLetter as DeadLetter  # the plumbing's tables, used through this module
from daiko.tables import Outbox as Outbox
from daiko.tables import ProcessedEvent as ProcessedEvent


class Base(DeclarativeBase):
    metadata = new_metadata()


class Thread(Base):
    __tablename__ = "threads"

    order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    service_type: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(50))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    last_message_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A customer wrote and no staff member has answered since; notices do not change it.
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    awaiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Read cursors: every message with seq <= cursor counts as read by that side.
    customer_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    staff_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_threads_awaiting", "awaiting_reply", "awaiting_since"),)


class Message(Base):
    __tablename__ = "messages"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    order_id: Mapped[str] = mapped_column(String(100))
    author_role: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # "message" or "notice"
    notice_type: Mapped[str | None] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    state: Mapped[str] = mapped_column(String(20))
    rejected_reason: Mapped[str | None] = mapped_column(String(200))
    # The order event a notice was made from: a second notice for the same event cannot exist.
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_messages_order_seq", "order_id", "seq"),
        Index("ix_messages_pending", "state", "created_at", postgresql_where=text("state = 'pending'")),
        Index("ix_messages_author_created", "author_id", "created_at"),  # a customer's caps (uploads per day)
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))  # detected from the bytes, never the client's claim
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
