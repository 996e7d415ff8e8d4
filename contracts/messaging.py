"""``daiko.messaging.events.v1``: what other systems need to notify people of new messages, and read receipts.

Keyed and ``subject``-ed by the order id. The orders service keeps its own copy
of each order's latest messages and read cursors from it (the order-details
view shows them, R1); a notification system can e-mail or push from it
without calling us back.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import StrictStr

from contracts.base import Contract
from contracts.ids import Count, CustomerId, IsoMoment, MessageId, OrderId


class MessagePosted(Contract):
    type: ClassVar[str] = "message.posted"
    summary: ClassVar[str] = (
        "A message became visible in an order's message history: from the customer, from staff, or a system "
        "notice (notice_type) the agency shows when an order event happens."
    )
    message_id: MessageId
    order_id: OrderId
    customer_id: CustomerId | None
    author_role: Literal["customer", "staff", "system"]
    kind: Literal["message", "notice"]
    notice_type: StrictStr | None
    body: StrictStr
    attachment_count: Count
    posted_at: IsoMoment
    seq: Count | None = None
    """The message's place in its order's thread (1, 2, ...): what read cursors (``message.read``) count in.
    Optional so that events published before it stay valid; every producer now sets it."""


class MessagesRead(Contract):
    type: ClassVar[str] = "message.read"
    summary: ClassVar[str] = (
        "One side of an order's thread (the customer, or staff) has read its messages up to a point: what is "
        "unread for that side is what the other side and the system posted after it."
    )
    order_id: OrderId
    reader_role: Literal["customer", "staff"]
    read_up_to_seq: Count
    """The reader's cursor after reading: every message with a ``seq`` up to it is read (cursors never go back)."""
    read_at: IsoMoment


MESSAGING_EVENTS: tuple[type[Contract], ...] = (MessagePosted, MessagesRead)
