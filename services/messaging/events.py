"""Kafka side of messaging: order events become order knowledge and system notices; stale pending messages expire.

The consumer (group ``messaging-order-events``) reads ``daiko.orders.events.v1``
through :func:`daiko.consumer.consumer_task`, so each event is applied once
(its id is recorded in the same transaction as its effect). A notice also
carries its event id in a unique column, a second guard against duplicates.
Events are read strictly with their contract (``contracts.orders``): an unknown
type or data the contract refuses is parked in ``dead_letters`` with the reason
(:func:`order_event_check`) instead of being half-understood.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.db import transaction
from daiko.events import Envelope
from services.messaging import repository as repo
from services.messaging.db import Thread
from services.messaging.domain import (
    AuthorRole,
    MessageState,
    json_safe,
    message_window,
    next_order_state,
    order_facts,
    without_nul,
)
from services.messaging.notices import notice_of, read_order_event
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentStore

log = logging.getLogger(__name__)

OrderEventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def order_event_handler(settings: MessagingSettings, store: AttachmentStore) -> OrderEventHandler:
    async def handle(session: AsyncSession, event: Envelope) -> None:
        await handle_order_event(session, event, settings=settings, store=store)

    return handle


def order_event_check(envelope: Envelope) -> None:
    """The consumer's contract check: raises ``contracts.ContractViolation`` (a ``ValueError``) with the reason."""
    read_order_event(envelope.type, envelope.data)


async def handle_order_event(
    session: AsyncSession, event: Envelope, *, settings: MessagingSettings, store: AttachmentStore
) -> None:
    order_event = read_order_event(event.type, event.data)
    facts = order_facts(order_event, event.time)
    await repo.lock_order(session, facts.order_id)
    thread = await repo.get_thread(session, facts.order_id)
    before = repo.thread_state(thread)
    after = next_order_state(before, facts)
    if thread is None:
        thread = Thread(
            order_id=facts.order_id,
            last_message_seq=0,
            awaiting_reply=False,
            customer_read_seq=0,
            staff_read_seq=0,
        )
        session.add(thread)
    if before is not None and before.customer_id and facts.customer_id and facts.customer_id != before.customer_id:
        log.warning("order event names another customer; owner kept", extra={"order_id": facts.order_id})
    thread.customer_id = after.customer_id
    thread.status = after.status
    thread.service_type = after.service_type
    thread.closed_at = after.closed_at
    thread.last_event_at = after.last_event_at
    await session.flush()

    stale_keys: list[str] = []
    if after.customer_id is not None and (before is None or before.customer_id is None):
        stale_keys = await settle_pending(session, thread, settings=settings)

    try:
        notice = notice_of(
            order_event,
            window_days=settings.message_window_days,
            service_type=thread.service_type,
            at=facts.event_time,
        )
    except Exception:  # a wording bug must not stall every order behind this event: state is still applied
        log.exception("could not word a notice; none shown", extra={"event_id": event.id, "type": event.type})
        notice = None
    if notice is not None and not await repo.notice_exists(session, event.id):
        message, _ = await repo.add_message(
            session,
            order_id=facts.order_id,
            author_role=AuthorRole.SYSTEM,
            author_id=None,
            body=without_nul(notice.body),
            state=MessageState.POSTED,
            now=facts.event_time,
            kind="notice",
            notice_type=notice.notice_type[:60],
            data=json_safe(notice.data),
            source_event_id=event.id,
        )
        repo.record_posted(session, thread, message, attachment_count=0)
    await _delete_quietly(store, stale_keys)


async def settle_pending(session: AsyncSession, thread: Thread, *, settings: MessagingSettings) -> list[str]:
    """The owner just became known: messages left pending by earlier versions are posted or rejected.

    Messaging no longer stores messages on orders it has not heard of (a 404,
    see services.messaging.service), but a database written by an earlier
    version may still hold some: the owner's are posted if R3's window was open
    when they were written, anyone else's rejected.
    """
    keys: list[str] = []
    for message in await repo.pending_messages(session, order_id=thread.order_id):
        if message.author_id != thread.customer_id:
            keys += await repo.reject(session, message, "not the order's customer")
            continue
        decision = message_window(thread.status, thread.closed_at, message.created_at, settings.message_window)
        if not decision.open:
            keys += await repo.reject(session, message, "message window closed when it was written")
            continue
        message.state = MessageState.POSTED.value
        attachments = await repo.attachments_of(session, [message.id])
        repo.record_posted(session, thread, message, attachment_count=len(attachments.get(message.id, [])))
    return keys


async def _delete_quietly(store: AttachmentStore, keys: list[str]) -> None:
    """Photos of rejected messages. Deleting before commit is safe: a retried event rejects the same messages."""
    for key in keys:
        try:
            await store.delete(key)
        except Exception:
            log.warning("could not delete attachment %s; left for a manual clean-up", key)


async def expire_pending(
    sessions: async_sessionmaker[AsyncSession],
    store: AttachmentStore,
    settings: MessagingSettings,
    *,
    now: datetime | None = None,
) -> int:
    """Reject messages left pending (by earlier versions) whose order never appeared; returns how many."""
    now = now or datetime.now(UTC)
    cutoff = now - settings.pending_message_ttl
    async with sessions() as session:
        order_ids = await repo.stale_pending_orders(session, older_than=cutoff)
    rejected = 0
    for order_id in order_ids:
        async with transaction(sessions) as session:
            await repo.lock_order(session, order_id)
            keys: list[str] = []
            for message in await repo.pending_messages(session, order_id=order_id):
                if message.created_at < cutoff:
                    keys += await repo.reject(session, message, "order unknown")
                    rejected += 1
            await _delete_quietly(store, keys)
    return rejected


def pending_sweep_task(
    sessions: async_sessionmaker[AsyncSession], store: AttachmentStore, settings: MessagingSettings
) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            count = await expire_pending(sessions, store, settings)
            if count:
                log.info("rejected %d pending messages whose order never appeared", count)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.pending_sweep_interval_seconds)

    return run
