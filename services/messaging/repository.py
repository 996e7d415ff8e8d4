"""Database operations of the message history; every function runs inside the caller's transaction.

Posting, the consumer and the pending sweep all take :func:`lock_order` first:
it serialises everything that touches one order, so a post and the order's
first event being applied always see each other's committed rows (see
:mod:`services.messaging.service`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.messaging import MessagePosted, MessagesRead
from contracts.topics import source_of
from daiko.events import MESSAGING_EVENTS, Envelope
from daiko.outbox import enqueue
from services.messaging.db import Attachment, Message, Outbox, Thread
from services.messaging.domain import AuthorRole, ImageKind, MessageState, OrderState
from services.messaging.storage import attachment_key

ORDER_LOCK_NAMESPACE = 0x4D5347  # first key of the two-key advisory lock space: "MSG"
CUSTOMER_LOCK_NAMESPACE = 0x4D5343  # "MSC": one customer's posts, for their caps (always taken after the order's)
SOURCE = source_of("messaging")


@dataclass(frozen=True)
class NewPhoto:
    """A photo that passed every check (type sniffed from its bytes, size bounded)."""

    filename: str
    content: bytes
    kind: ImageKind


async def lock_order(session: AsyncSession, order_id: str) -> None:
    """Serialise every write on one order until the caller's transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:order_id))"),
        {"ns": ORDER_LOCK_NAMESPACE, "order_id": order_id},
    )


async def lock_customer(session: AsyncSession, customer_id: str) -> None:
    """Serialise one customer's posts until the transaction ends, so two at once cannot both pass a cap.

    Taken after :func:`lock_order` only, never before: one order of locks, no deadlock.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:customer_id))"),
        {"ns": CUSTOMER_LOCK_NAMESPACE, "customer_id": customer_id},
    )


async def uploaded_bytes_since(session: AsyncSession, *, author_id: str, since: datetime) -> int:
    """The bytes of the photos the author attached to messages written since ``since``."""
    query = (
        select(func.coalesce(func.sum(Attachment.size_bytes), 0))
        .join(Message, Message.id == Attachment.message_id)
        .where(Message.author_id == author_id, Message.created_at >= since)
    )
    return int((await session.scalar(query)) or 0)


def thread_state(thread: Thread | None) -> OrderState | None:
    if thread is None:
        return None
    return OrderState(
        customer_id=thread.customer_id,
        status=thread.status,
        service_type=thread.service_type,
        closed_at=thread.closed_at,
        last_event_at=thread.last_event_at,
    )


async def get_thread(session: AsyncSession, order_id: str) -> Thread | None:
    return await session.get(Thread, order_id, populate_existing=True)


async def add_message(
    session: AsyncSession,
    *,
    order_id: str,
    author_role: AuthorRole,
    author_id: str | None,
    body: str,
    state: MessageState,
    now: datetime,
    photos: Sequence[NewPhoto] = (),
    kind: str = "message",
    notice_type: str | None = None,
    data: dict[str, Any] | None = None,
    source_event_id: str | None = None,
) -> tuple[Message, list[Attachment]]:
    """Insert a message and its attachment rows; storing the photo bytes is the caller's job (keys returned)."""
    message = Message(
        id=str(uuid.uuid4()),
        order_id=order_id,
        author_role=author_role.value,
        author_id=author_id,
        kind=kind,
        notice_type=notice_type,
        body=body,
        data=data or {},
        state=state.value,
        source_event_id=source_event_id,
        created_at=now,
    )
    session.add(message)
    await session.flush()  # assigns seq
    attachments = []
    for photo in photos:
        attachment_id = str(uuid.uuid4())
        attachments.append(
            Attachment(
                id=attachment_id,
                message_id=message.id,
                order_id=order_id,
                filename=photo.filename,
                content_type=photo.kind.value,
                size_bytes=len(photo.content),
                sha256=hashlib.sha256(photo.content).hexdigest(),
                storage_key=attachment_key(attachment_id),
            )
        )
    session.add_all(attachments)
    await session.flush()
    return message, attachments


def posted_envelope(message: Message, *, customer_id: str | None, attachment_count: int) -> Envelope:
    """``message.posted``: enough for a notification system to e-mail or push without calling us back."""
    posted = MessagePosted(
        message_id=message.id,
        order_id=message.order_id,
        customer_id=customer_id,
        author_role=message.author_role,
        kind=message.kind,
        notice_type=message.notice_type,
        body=message.body,
        attachment_count=attachment_count,
        posted_at=message.created_at,
        seq=message.seq,
    )
    return Envelope(type=posted.type, source=SOURCE, subject=message.order_id, data=posted.to_data())


def record_read(session: AsyncSession, *, order_id: str, side: AuthorRole, up_to_seq: int, now: datetime) -> None:
    """A read cursor moved: tell other systems (the orders service's copy of the thread), in the same transaction.

    ``up_to_seq`` is the cursor as it is now (it never goes back), so receipts applied in any order end
    at the same place.
    """
    read = MessagesRead(
        order_id=order_id,
        reader_role="customer" if side == AuthorRole.CUSTOMER else "staff",
        read_up_to_seq=up_to_seq,
        read_at=now,
    )
    enqueue(
        session,
        Outbox,
        topic=MESSAGING_EVENTS,
        key=order_id,
        event=Envelope(type=read.type, source=SOURCE, subject=order_id, data=read.to_data()),
    )


def record_posted(session: AsyncSession, thread: Thread, message: Message, *, attachment_count: int) -> None:
    """A message became visible: move the thread summary and tell other systems, in the same transaction."""
    thread.last_message_seq = max(thread.last_message_seq or 0, message.seq)
    # A notice placed at its event's time can be older than the last message: the summary never moves back.
    if thread.last_message_at is None or message.created_at > thread.last_message_at:
        thread.last_message_at = message.created_at
    if message.author_role == AuthorRole.CUSTOMER:
        if not thread.awaiting_reply:
            thread.awaiting_since = message.created_at
        thread.awaiting_reply = True
    elif message.author_role == AuthorRole.STAFF:
        thread.awaiting_reply = False
        thread.awaiting_since = None
    enqueue(
        session,
        Outbox,
        topic=MESSAGING_EVENTS,
        key=message.order_id,
        event=posted_envelope(message, customer_id=thread.customer_id, attachment_count=attachment_count),
    )


async def messages_of(
    session: AsyncSession,
    *,
    order_id: str,
    states: Sequence[MessageState],
    author_id: str | None = None,
    after_seq: int = 0,
    limit: int = 200,
) -> list[Message]:
    """The thread in the order things happened: by ``created_at`` (a notice's is its event's time), then ``seq``.

    A notice can be consumed after a message the customer wrote later (the
    "please send photos" notice after the photos): ``seq`` is arrival order,
    so it would read out of order. ``after_seq`` names the last message of the
    previous page; the next page is what comes after it in this order.
    """
    query = (
        select(Message)
        .where(Message.order_id == order_id, Message.state.in_([s.value for s in states]))
        .order_by(Message.created_at, Message.seq)
        .limit(limit)
    )
    if after_seq:
        anchor = (
            await session.execute(
                select(Message.created_at, Message.seq).where(Message.order_id == order_id, Message.seq == after_seq)
            )
        ).first()
        # A cursor that names no message of this thread pages by arrival, as cursors did before.
        query = query.where(
            tuple_(Message.created_at, Message.seq) > tuple_(anchor[0], anchor[1])
            if anchor is not None
            else Message.seq > after_seq
        )
    if author_id is not None:
        query = query.where(Message.author_id == author_id, Message.author_role == AuthorRole.CUSTOMER.value)
    return list((await session.scalars(query)).all())


async def attachments_of(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, list[Attachment]]:
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.created_at, Attachment.id)
    )
    out: dict[str, list[Attachment]] = {}
    for row in rows:
        out.setdefault(row.message_id, []).append(row)
    return out


async def pending_messages(session: AsyncSession, *, order_id: str) -> list[Message]:
    return await messages_of(session, order_id=order_id, states=[MessageState.PENDING], limit=10_000)


async def reject(session: AsyncSession, message: Message, reason: str) -> list[str]:
    """Reject a pending message; its attachment rows go, and the storage keys to delete are returned."""
    message.state = MessageState.REJECTED.value
    message.rejected_reason = reason
    keys = list(
        (await session.scalars(select(Attachment.storage_key).where(Attachment.message_id == message.id))).all()
    )
    await session.execute(delete(Attachment).where(Attachment.message_id == message.id))
    return keys


async def notice_exists(session: AsyncSession, source_event_id: str) -> bool:
    found = await session.scalars(select(Message.id).where(Message.source_event_id == source_event_id))
    return found.first() is not None


async def unread_count(session: AsyncSession, thread: Thread, *, side: AuthorRole) -> int:
    cursor = thread.customer_read_seq if side == AuthorRole.CUSTOMER else thread.staff_read_seq
    others = (
        Message.author_role != AuthorRole.CUSTOMER.value
        if side == AuthorRole.CUSTOMER
        else Message.author_role == AuthorRole.CUSTOMER.value
    )
    count = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.order_id == thread.order_id,
            Message.state == MessageState.POSTED.value,
            Message.seq > cursor,
            others,
        )
    )
    return int(count or 0)


async def move_read_cursor(session: AsyncSession, *, order_id: str, side: AuthorRole, up_to_seq: int) -> None:
    """Cursors only move forward, so two tabs marking read in any order end up in the same place."""
    column = Thread.customer_read_seq if side == AuthorRole.CUSTOMER else Thread.staff_read_seq
    await session.execute(
        update(Thread)
        .where(Thread.order_id == order_id)
        .values({column.key: func.greatest(column, up_to_seq)})
        .execution_options(synchronize_session=False)
    )


async def threads_page(
    session: AsyncSession, *, awaiting_reply: bool | None, limit: int, offset: int
) -> list[tuple[Thread, int]]:
    """Threads with the number of customer messages staff have not read; longest-waiting first when filtered."""
    unread = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.order_id == Thread.order_id,
            Message.state == MessageState.POSTED.value,
            Message.author_role == AuthorRole.CUSTOMER.value,
            Message.seq > Thread.staff_read_seq,
        )
        .correlate(Thread)
        .scalar_subquery()
    )
    query = select(Thread, unread)
    if awaiting_reply is None:
        query = query.where(Thread.last_message_seq > 0).order_by(Thread.last_message_at.desc(), Thread.order_id)
    elif awaiting_reply:
        query = query.where(Thread.awaiting_reply.is_(True)).order_by(Thread.awaiting_since, Thread.order_id)
    else:
        query = query.where(Thread.awaiting_reply.is_(False), Thread.last_message_seq > 0).order_by(
            Thread.last_message_at.desc(), Thread.order_id
        )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [(row[0], int(row[1] or 0)) for row in rows]


async def find_attachment(
    session: AsyncSession, *, order_id: str, message_id: str, attachment_id: str
) -> tuple[Message, Attachment] | None:
    row = (
        await session.execute(
            select(Message, Attachment)
            .join(Attachment, Attachment.message_id == Message.id)
            .where(Attachment.id == attachment_id, Message.id == message_id, Message.order_id == order_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def stale_pending_orders(session: AsyncSession, *, older_than: datetime, limit: int = 500) -> list[str]:
    rows = await session.scalars(
        select(Message.order_id)
        .where(Message.state == MessageState.PENDING.value, Message.created_at < older_than)
        .group_by(Message.order_id)
        .limit(limit)
    )
    return list(rows.all())
