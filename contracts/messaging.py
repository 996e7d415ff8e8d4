"""``daiko.messaging.events.v1``: what other systems need to notify people of new messages.

Keyed and ``subject``-ed by the order id. Nothing inside Daiko consumes it: it
is for a notification system to e-mail or push without calling us back.
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


MESSAGING_EVENTS: tuple[type[Contract], ...] = (MessagePosted,)
