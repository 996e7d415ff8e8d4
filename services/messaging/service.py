"""Use cases of the message history: post, read, mark read, list threads, download a photo.

Messages on an order messaging has not heard of (the race right after applying)
--------------------------------------------------------------------------------
Messaging learns who owns an order, and its status, only from
``daiko.orders.events.v1`` (``order.applied`` first). An order it has never
heard of has no thread: posting to it or reading it is a 404 problem
(``order-not-known``, with ``Retry-After``), the same answer whether the order
does not exist or is someone else's, so ids cannot be probed.

A customer can open the order-details page and write as soon as the orders
service has answered the application, possibly before ``order.applied`` has
been consumed here. So a customer's POST on an
unknown order first waits, up to ``DAIKO_UNKNOWN_ORDER_WAIT_SECONDS`` (5 s),
for the order to appear (:func:`wait_for_order`, polling the thread row; on
someone else's order it waits as long, so the answer's timing tells nothing
either), and only then answers 404; the problem's detail and ``Retry-After``
tell the client to try again. Reads do not wait: the page that reads the thread
refetches on its own. Nothing is stored for an unknown order, so a 404 never
leaves a message behind (earlier versions kept it "pending"; those left
in a database are still settled when their order's first event arrives,
:func:`services.messaging.events.settle_pending`, or rejected by the sweep).

Posting and applying an event both take the order's advisory lock first, so
one always sees the other's committed rows.

The thread reads in the order things happened
---------------------------------------------
A notice is placed at its event's time (the workflow's moment), not when
messaging consumed it: the "please send photos" notice of a dispute sits
before the photos the customer sent right after opening it, even when the
event was consumed later (:func:`services.messaging.repository.messages_of`).

Reading and unread
------------------
``GET`` never changes anything. Each side has a read cursor per thread;
``POST .../messages/read`` (optionally ``{"up_to": message_id}``) moves the
caller's side forward. A customer's unread messages are staff messages and
notices after their cursor; staff's are customer messages after theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.auth import Principal
from daiko.db import transaction
from daiko.errors import DomainError, NotFound
from services.messaging import repository as repo
from services.messaging.db import Attachment, Message, Thread
from services.messaging.domain import ID_MAX, AuthorRole, MessageState, WindowDecision, message_window
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentMissing, AttachmentStore


class MessageWindowClosed(DomainError):
    """R3: the order was completed or canceled too long ago for the customer to write on it."""

    code = "message-window-closed"


class CustomerCapReached(DomainError):
    """The customer uploaded too many bytes of photos in the last 24 hours."""

    code = "customer-cap-reached"


class OrderNotKnown(NotFound):
    """No event has told messaging of this order: it does not exist, is not the caller's, or was applied so
    recently that its ``order.applied`` has not arrived yet (the 404 says to retry shortly)."""

    code = "order-not-known"

    def __init__(self, order_id: str) -> None:
        DomainError.__init__(
            self,
            f"order {order_id} is not known to the message history; if you have just applied for it, "
            "try again in a moment",
        )


class AttachmentGone(DomainError):
    """The photo's row exists but its file is no longer in storage."""

    code = "attachment-gone"


@dataclass
class Posted:
    message: Message
    attachments: list[Attachment]


@dataclass
class ThreadView:
    order_id: str
    thread: Thread
    messages: list[Message]
    attachments: dict[str, list[Attachment]]
    unread_count: int
    can_post: bool
    post_refused_reason: str | None = None
    has_more: bool = False
    side: AuthorRole = AuthorRole.CUSTOMER


@asynccontextmanager
async def storing(store: AttachmentStore) -> AsyncIterator[list[str]]:
    """Keys written inside the block are deleted again if the block (or its commit) fails: no orphan files."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for key in written:
            with suppress(Exception):
                await store.delete(key)
        raise


async def _store_photos(
    store: AttachmentStore, attachments: list[Attachment], photos: Sequence[repo.NewPhoto], written: list[str]
) -> None:
    for attachment, photo in zip(attachments, photos, strict=True):
        written.append(attachment.storage_key)
        await store.put(attachment.storage_key, photo.content, attachment.content_type)


def window_closed(decision: WindowDecision, thread: Thread, settings: MessagingSettings) -> MessageWindowClosed:
    return MessageWindowClosed(
        decision.reason,
        order_status=thread.status,
        closed_at=thread.closed_at.isoformat() if thread.closed_at else None,
        window_days=settings.message_window_days,
    )


async def _add(
    session: AsyncSession,
    store: AttachmentStore,
    written: list[str],
    thread: Thread | None,
    *,
    order_id: str,
    role: AuthorRole,
    author_id: str,
    body: str,
    state: MessageState,
    now: datetime,
    photos: Sequence[repo.NewPhoto],
) -> Posted:
    """The message, its photos' rows and files, and (once posted) the thread's summary and ``message.posted``."""
    message, attachments = await repo.add_message(
        session,
        order_id=order_id,
        author_role=role,
        author_id=author_id,
        body=body,
        state=state,
        now=now,
        photos=photos,
    )
    if thread is not None and state == MessageState.POSTED:
        repo.record_posted(session, thread, message, attachment_count=len(attachments))
    await _store_photos(store, attachments, photos, written)
    return Posted(message, attachments)


async def wait_for_order(
    sessions: async_sessionmaker[AsyncSession],
    order_id: str,
    customer_id: str | None,
    *,
    wait_seconds: float,
    poll_seconds: float = 0.1,
) -> bool:
    """Whether the order is known as the customer's, waiting up to ``wait_seconds`` for its first event.

    ``customer_id`` None (staff) accepts any customer's order: staff may reply the moment an order is applied.

    Someone else's order waits as long as an unknown one, so the time of the
    404 does not tell which it was. Polls outside any transaction, so no lock
    is held while waiting; the post's own transaction looks again under the
    order's lock.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        async with sessions() as session:
            thread = await repo.get_thread(session, order_id)
            if thread is not None and customer_id in (None, thread.customer_id):
                return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(poll_seconds)


async def add_customer_message(
    session: AsyncSession,
    store: AttachmentStore,
    settings: MessagingSettings,
    written: list[str],
    *,
    order_id: str,
    customer_id: str,
    body: str,
    photos: Sequence[repo.NewPhoto],
    now: datetime | None = None,
) -> Posted:
    """In the caller's transaction (the idempotent POST's, inside :func:`storing`); storage keys written are
    appended to ``written``, so a failure or a failed commit deletes those photos again."""
    now = now or datetime.now(UTC)
    if len(customer_id) > ID_MAX:
        raise OrderNotKnown(order_id)  # no order can belong to an id that long
    await repo.lock_order(session, order_id)
    thread = await repo.get_thread(session, order_id)
    if thread is None or thread.customer_id != customer_id:
        raise OrderNotKnown(order_id)  # never heard of, or someone else's: the same answer (module docstring)
    decision = message_window(thread.status, thread.closed_at, now, settings.message_window)
    if not decision.open:
        raise window_closed(decision, thread, settings)
    await _within_caps(session, settings, customer_id, photos, now)
    return await _add(
        session,
        store,
        written,
        thread,
        order_id=order_id,
        role=AuthorRole.CUSTOMER,
        author_id=customer_id,
        body=body,
        state=MessageState.POSTED,
        now=now,
        photos=photos,
    )


async def _within_caps(
    session: AsyncSession,
    settings: MessagingSettings,
    customer_id: str,
    photos: Sequence[repo.NewPhoto],
    now: datetime,
) -> None:
    """The customer's cap: a flood of photos is refused."""
    if not photos:
        return
    await repo.lock_customer(session, customer_id)
    uploaded = await repo.uploaded_bytes_since(session, author_id=customer_id, since=now - timedelta(days=1))
    adding = sum(len(photo.content) for photo in photos)
    if uploaded + adding > settings.upload_bytes_max_per_customer_day:
        raise CustomerCapReached(
            f"these photos would bring your uploads in the last 24 hours to {uploaded + adding} bytes; "
            f"at most {settings.upload_bytes_max_per_customer_day} are taken",
            uploaded_bytes=uploaded,
        )


async def add_staff_message(
    session: AsyncSession,
    store: AttachmentStore,
    written: list[str],
    *,
    order_id: str,
    staff_id: str,
    body: str,
    photos: Sequence[repo.NewPhoto],
    now: datetime | None = None,
) -> Posted:
    """Staff are not bound by R3's window (it protects the agency, not the customer), but need a known order."""
    now = now or datetime.now(UTC)
    await repo.lock_order(session, order_id)
    thread = await repo.get_thread(session, order_id)
    if thread is None:
        raise OrderNotKnown(order_id)
    return await _add(
        session,
        store,
        written,
        thread,
        order_id=order_id,
        role=AuthorRole.STAFF,
        author_id=staff_id[:ID_MAX],
        body=body,
        state=MessageState.POSTED,
        now=now,
        photos=photos,
    )


async def read_thread(
    session: AsyncSession,
    settings: MessagingSettings,
    *,
    order_id: str,
    viewer: Principal,
    after_seq: int = 0,
    limit: int = 200,
    now: datetime | None = None,
) -> ThreadView:
    """What the viewer may see of one order's history; someone else's order is a 404, never a 403."""
    now = now or datetime.now(UTC)
    thread = await repo.get_thread(session, order_id)
    if thread is None or (not viewer.is_staff and thread.customer_id != viewer.subject):
        raise OrderNotKnown(order_id)
    side = AuthorRole.STAFF if viewer.is_staff else AuthorRole.CUSTOMER
    messages = await repo.messages_of(
        session, order_id=order_id, states=[MessageState.POSTED], after_seq=after_seq, limit=limit + 1
    )
    has_more = len(messages) > limit
    messages = messages[:limit]
    can_post, reason = True, None
    if not viewer.is_staff:
        decision = message_window(thread.status, thread.closed_at, now, settings.message_window)
        can_post, reason = decision.open, decision.reason or None
    return ThreadView(
        order_id=order_id,
        thread=thread,
        messages=messages,
        attachments=await repo.attachments_of(session, [m.id for m in messages]),
        unread_count=await repo.unread_count(session, thread, side=side),
        can_post=can_post,
        post_refused_reason=reason,
        has_more=has_more,
        side=side,
    )


async def mark_read(
    sessions: async_sessionmaker[AsyncSession],
    settings: MessagingSettings,
    *,
    order_id: str,
    viewer: Principal,
    up_to: str | None,
) -> int:
    """Move the viewer's read cursor; returns what is still unread for that side."""
    async with transaction(sessions) as session:
        view = await read_thread(session, settings, order_id=order_id, viewer=viewer, limit=0)
        thread = view.thread
        seq = thread.last_message_seq
        if up_to is not None:
            target = await session.get(Message, up_to)
            if target is None or target.order_id != order_id or target.state != MessageState.POSTED:
                raise NotFound(f"message {up_to}")
            seq = target.seq
        await repo.move_read_cursor(session, order_id=order_id, side=view.side, up_to_seq=seq)
        moved = await repo.get_thread(session, order_id)
        assert moved is not None  # read_thread found it, under this transaction
        cursor = moved.customer_read_seq if view.side == AuthorRole.CUSTOMER else moved.staff_read_seq
        repo.record_read(session, order_id=order_id, side=view.side, up_to_seq=cursor, now=datetime.now(UTC))
        return await repo.unread_count(session, moved, side=view.side)


async def open_attachment(
    session: AsyncSession,
    store: AttachmentStore,
    settings: MessagingSettings,
    *,
    order_id: str,
    message_id: str,
    attachment_id: str,
    viewer: Principal,
) -> tuple[Attachment, bytes]:
    """Only the order's customer and staff may download a photo of a posted message."""
    found = await repo.find_attachment(session, order_id=order_id, message_id=message_id, attachment_id=attachment_id)
    if found is None:
        raise NotFound(f"attachment {attachment_id}")
    message, attachment = found
    if message.state != MessageState.POSTED:
        raise NotFound(f"attachment {attachment_id}")
    if not viewer.is_staff:
        thread = await repo.get_thread(session, order_id)
        if thread is None or thread.customer_id != viewer.subject:
            raise NotFound(f"attachment {attachment_id}")
    try:
        content = await store.get(attachment.storage_key)
    except AttachmentMissing as exc:
        raise AttachmentGone("the photo is no longer in storage", title="Attachment gone") from exc
    return attachment, content
