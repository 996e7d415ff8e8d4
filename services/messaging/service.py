"""Use cases of the message history: post, read, mark read, list threads, download a photo.

Messages that arrive before their order (the ordering race)
------------------------------------------------------------
Messaging learns who owns an order, and its status, only from
``daiko.orders.events.v1``. A customer can open the order-details page and
write as soon as the orders service has answered, possibly before the order's
first event has been consumed here. Such a message is never refused: it is
stored **pending** with the poster's customer id and the API answers
``202 Accepted`` with ``state: "pending"``. Until the order's first event (one
that names its customer) arrives, a pending message is visible only to its
poster and to staff, and no ``message.posted`` event leaves.

When that event is applied (:func:`services.messaging.events.handle_order_event`),
each pending message is settled, in the consumer's transaction:

* poster is the order's customer and R3's window was open **at the time the
  message was written** → ``posted`` (thread summary moves, ``message.posted``
  is emitted);
* poster is someone else → ``rejected`` (it was never theirs to write on);
* window already shut when it was written → ``rejected``.

Rejected messages stay in the table for audit but are never shown; their
photos are deleted. A pending message whose order never shows up is rejected
by a sweep after ``DAIKO_PENDING_MESSAGE_TTL_HOURS``.

Posting and applying an event both take the order's advisory lock first, so
one always sees the other's committed rows: a message cannot slip in between
"first event applied" and "pending messages settled" and stay pending forever.

Reading and unread
------------------
``GET`` never changes anything. Each side has a read cursor per thread;
``POST .../messages/read`` (optionally ``{"up_to": message_id}``) moves the
caller's side forward. A customer's unread messages are staff messages and
notices after their cursor; staff's are customer messages after theirs.
"""

from __future__ import annotations

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
    """The customer has too many messages pending, or uploaded too many bytes of photos today."""

    code = "customer-cap-reached"


class AttachmentGone(DomainError):
    """The photo's row exists but its file is no longer in storage."""

    code = "attachment-gone"


@dataclass
class Posted:
    message: Message
    attachments: list[Attachment]

    @property
    def pending(self) -> bool:
        return self.message.state == MessageState.PENDING


@dataclass
class ThreadView:
    order_id: str
    thread: Thread | None
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
        raise NotFound(f"order {order_id}")  # no order can belong to an id that long
    await repo.lock_order(session, order_id)
    thread = await repo.get_thread(session, order_id)
    if thread is not None and thread.customer_id is not None:
        if thread.customer_id != customer_id:
            raise NotFound(f"order {order_id}")
        decision = message_window(thread.status, thread.closed_at, now, settings.message_window)
        if not decision.open:
            raise window_closed(decision, thread, settings)
        state = MessageState.POSTED
    else:
        state = MessageState.PENDING  # the order's first event has not arrived yet: see the module docstring
    await _within_caps(session, settings, customer_id, state, photos, now)
    return await _add(
        session,
        store,
        written,
        thread,
        order_id=order_id,
        role=AuthorRole.CUSTOMER,
        author_id=customer_id,
        body=body,
        state=state,
        now=now,
        photos=photos,
    )


async def _within_caps(
    session: AsyncSession,
    settings: MessagingSettings,
    customer_id: str,
    state: MessageState,
    photos: Sequence[repo.NewPhoto],
    now: datetime,
) -> None:
    """The customer's caps: a flood of pending messages (orders that may never exist) or of photos is refused."""
    if state is not MessageState.PENDING and not photos:
        return
    await repo.lock_customer(session, customer_id)
    if state is MessageState.PENDING:
        pending = await repo.pending_count(session, author_id=customer_id)
        if pending >= settings.pending_messages_max_per_customer:
            raise CustomerCapReached(
                f"{pending} of your messages already wait for their order to appear; "
                f"at most {settings.pending_messages_max_per_customer} may",
                pending=pending,
            )
    if photos:
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
        raise NotFound(f"order {order_id}")
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
    side = AuthorRole.STAFF if viewer.is_staff else AuthorRole.CUSTOMER
    owner_known = thread is not None and thread.customer_id is not None
    if viewer.is_staff:
        if thread is None and not await repo.has_pending(session, order_id=order_id):
            raise NotFound(f"order {order_id}")
        states, author = [MessageState.POSTED, MessageState.PENDING], None
    elif owner_known:
        assert thread is not None
        if thread.customer_id != viewer.subject:
            raise NotFound(f"order {order_id}")
        states, author = [MessageState.POSTED], None
    else:
        if not await repo.has_pending(session, order_id=order_id, author_id=viewer.subject):
            raise NotFound(f"order {order_id}")
        states, author = [MessageState.PENDING], viewer.subject
    messages = await repo.messages_of(
        session, order_id=order_id, states=states, author_id=author, after_seq=after_seq, limit=limit + 1
    )
    has_more = len(messages) > limit
    messages = messages[:limit]
    can_post, reason = True, None
    if thread is not None and not viewer.is_staff and owner_known:
        decision = message_window(thread.status, thread.closed_at, now, settings.message_window)
        can_post, reason = decision.open, decision.reason or None
    return ThreadView(
        order_id=order_id,
        thread=thread if (owner_known or viewer.is_staff) else None,
        messages=messages,
        attachments=await repo.attachments_of(session, [m.id for m in messages]),
        unread_count=await repo.unread_count(session, thread, side=side) if thread is not None and owner_known else 0,
        can_post=can_post if not viewer.is_staff else thread is not None,
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
        if thread is None:
            return 0  # only pending messages: nothing the other side wrote yet
        seq = thread.last_message_seq
        if up_to is not None:
            target = await session.get(Message, up_to)
            if target is None or target.order_id != order_id or target.state != MessageState.POSTED:
                raise NotFound(f"message {up_to}")
            seq = target.seq
        await repo.move_read_cursor(session, order_id=order_id, side=view.side, up_to_seq=seq)
        thread = await repo.get_thread(session, order_id)
        assert thread is not None
        cursor = thread.customer_read_seq if view.side == AuthorRole.CUSTOMER else thread.staff_read_seq
        repo.record_read(session, order_id=order_id, side=view.side, up_to_seq=cursor, now=datetime.now(UTC))
        return await repo.unread_count(session, thread, side=view.side)


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
    """Only the order's customer (or the poster of a pending message) and staff may download a photo."""
    found = await repo.find_attachment(session, order_id=order_id, message_id=message_id, attachment_id=attachment_id)
    if found is None:
        raise NotFound(f"attachment {attachment_id}")
    message, attachment = found
    if message.state == MessageState.REJECTED:
        raise NotFound(f"attachment {attachment_id}")
    if not viewer.is_staff:
        thread = await repo.get_thread(session, order_id)
        owner = thread.customer_id if thread is not None else None
        mine = owner == viewer.subject if owner is not None else message.author_id == viewer.subject
        if not mine or (message.state == MessageState.PENDING and message.author_id != viewer.subject):
            raise NotFound(f"attachment {attachment_id}")
    try:
        content = await store.get(attachment.storage_key)
    except AttachmentMissing as exc:
        raise AttachmentGone("the photo is no longer in storage", title="Attachment gone") from exc
    return attachment, content
