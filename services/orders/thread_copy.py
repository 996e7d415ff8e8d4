"""The orders service's copy of each order's message thread, kept from the messaging service's events (R1).

The order-details view shows the latest messages and how many the reader has
not read, so that the page's seven sections come from one read. Services talk
only through Kafka, so the orders database keeps its own copy: every
``message.posted`` becomes a row of ``order_messages`` and every
``message.read`` moves the side's cursor in ``order_message_reads``. The
consumer (group ``orders-message-events``) is :func:`daiko.consumer.consumer_task`:
each event's effect and its processed-event id commit in one transaction, and
an event the contract refuses is parked in ``dead_letters`` with the reason.

Both effects are order-insensitive, so a re-delivery or two events applied out
of order end in the same state: a message is inserted once by its id, and a
read cursor only moves forward (``GREATEST``).
"""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.messaging import MessagePosted, MessagesRead
from contracts.topics import MESSAGING_EVENTS_TOPIC, topic
from daiko.consumer import consumer_task
from daiko.events import Envelope
from daiko.kafka import KafkaConnection
from daiko.service import BackgroundTask
from services.orders.db import DeadLetter, OrderMessage, OrderMessageReads, ProcessedEvent

log = logging.getLogger(__name__)

THREAD_COPY = "orders-message-events"
"""The consumer group (and processed-events consumer name) of the copy."""

_TOPIC = topic(MESSAGING_EVENTS_TOPIC)


def message_event_check(envelope: Envelope) -> None:
    """The consumer's contract check: ``ContractViolation`` (a ``ValueError``) says why an event breaks it."""
    _TOPIC.parse(envelope.type, envelope.data)


async def apply_message_event(session: AsyncSession, envelope: Envelope) -> None:
    """One messaging event into the copy, inside the consumer's transaction."""
    event = _TOPIC.parse(envelope.type, envelope.data)
    if isinstance(event, MessagePosted):
        await session.execute(
            insert(OrderMessage)
            .values(
                message_id=event.message_id,
                order_id=event.order_id,
                seq=event.seq,
                author_role=event.author_role,
                kind=event.kind,
                notice_type=event.notice_type,
                body=event.body,
                attachment_count=event.attachment_count,
                posted_at=event.posted_at,
            )
            .on_conflict_do_nothing(index_elements=[OrderMessage.message_id])
        )
    elif isinstance(event, MessagesRead):
        column = "customer_read_seq" if event.reader_role == "customer" else "staff_read_seq"
        statement = insert(OrderMessageReads).values(order_id=event.order_id, **{column: event.read_up_to_seq})
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[OrderMessageReads.order_id],
                set_={column: func.greatest(getattr(OrderMessageReads, column), statement.excluded[column])},
            )
        )
    else:  # a type the contract gained that the copy does not need
        log.debug("messaging event not copied", extra={"type": envelope.type, "event_id": envelope.id})


def thread_copy_task(*, connection: KafkaConnection, sessions: async_sessionmaker[AsyncSession]) -> BackgroundTask:
    """The background task keeping the copy; batched, as every effect of it is in the orders database."""
    return consumer_task(
        name=THREAD_COPY,
        connection=connection,
        topics=(MESSAGING_EVENTS_TOPIC,),
        session_factory=sessions,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=apply_message_event,
        check=message_event_check,
        batch=True,
    )
