"""HTTP routes of the messaging service: thin, each one a use case in :mod:`services.messaging.service`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.auth import CustomerDep, Principal, StaffDep
from daiko.db import MAX_BIGINT
from daiko.problems import PROBLEM_SCHEMA
from services.messaging import repository as repo
from services.messaging import service
from services.messaging.schemas import (
    MarkRead,
    MessageOut,
    NewMessage,
    ReadOut,
    ThreadListOut,
    ThreadOut,
    posted_out,
    summary_out,
    thread_out,
)
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentStore
from services.messaging.uploads import read_new_message


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessions  # type: ignore[no-any-return]


def _store(request: Request) -> AttachmentStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _settings(request: Request) -> MessagingSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
StoreDep = Annotated[AttachmentStore, Depends(_store)]
SettingsDep = Annotated[MessagingSettings, Depends(_settings)]
OrderId = Annotated[str, Path(min_length=1, max_length=100, description="The order's id")]
After = Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Only messages after this seq (paging)")]
Limit = Annotated[int, Query(ge=1, le=500)]

ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (401, 403, 404, 409, 413, 415, 422)}
NEW_MESSAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["body"],
                    "properties": {
                        "body": {"type": "string", "description": "The message text"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "0..N JPEG, PNG or WebP photos (checked by content)",
                        },
                    },
                }
            },
            "application/json": {"schema": NewMessage.model_json_schema()},
        },
    }
}

customer = APIRouter(prefix="/v1/orders", tags=["messages"], responses=ERRORS)
staff = APIRouter(prefix="/v1/staff", tags=["messages (staff)"], responses=ERRORS)


# ------------------------------------------------------------------ customer


@customer.get("/{order_id}/messages", response_model=ThreadOut, summary="The order's message history")
async def customer_messages(
    order_id: OrderId,
    who: CustomerDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    after: After = 0,
    limit: Limit = 200,
) -> ThreadOut:
    async with sessions() as session:
        view = await service.read_thread(session, settings, order_id=order_id, viewer=who, after_seq=after, limit=limit)
        return thread_out(view)


@customer.post(
    "/{order_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send a message (with photos for a problem report)",
    description=(
        "201 when posted. 202 with state 'pending' when the order is not yet known to messaging (its first event "
        "has not arrived): the message is kept and shown once the order's event confirms you are its customer. "
        "409 when the order was completed or canceled too long ago (R3)."
    ),
    openapi_extra=NEW_MESSAGE_BODY,
    responses={202: {"model": MessageOut, "description": "Accepted, pending the order's first event"}},
)
async def customer_post(
    order_id: OrderId,
    request: Request,
    response: Response,
    who: CustomerDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> MessageOut:
    new = await read_new_message(request, settings)
    posted = await service.post_customer_message(
        sessions, store, settings, order_id=order_id, customer_id=who.subject, body=new.body, photos=new.photos
    )
    if posted.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/v1/orders/{quote(order_id)}/messages"
    return posted_out(posted, staff=False)


@customer.post("/{order_id}/messages/read", response_model=ReadOut, summary="Mark staff messages and notices read")
async def customer_read(
    order_id: OrderId, who: CustomerDep, sessions: SessionsDep, settings: SettingsDep, body: MarkRead | None = None
) -> ReadOut:
    unread = await service.mark_read(
        sessions, settings, order_id=order_id, viewer=who, up_to=body.up_to if body else None
    )
    return ReadOut(unread_count=unread)


@customer.get(
    "/{order_id}/messages/{message_id}/attachments/{attachment_id}",
    summary="Download a photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
async def customer_attachment(
    order_id: OrderId,
    message_id: str,
    attachment_id: str,
    who: CustomerDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    return await _download(sessions, store, settings, order_id, message_id, attachment_id, who)


# ------------------------------------------------------------------ staff


@staff.get("/threads", response_model=ThreadListOut, summary="Threads, e.g. those awaiting a reply")
async def staff_threads(
    who: StaffDep,
    sessions: SessionsDep,
    awaiting_reply: Annotated[bool | None, Query(description="true: the customer wrote last")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> ThreadListOut:
    async with sessions() as session:
        rows = await repo.threads_page(session, awaiting_reply=awaiting_reply, limit=limit, offset=offset)
    return ThreadListOut(threads=[summary_out(t, unread) for t, unread in rows], limit=limit, offset=offset)


@staff.get("/orders/{order_id}/messages", response_model=ThreadOut, summary="The order's message history (staff)")
async def staff_messages(
    order_id: OrderId, who: StaffDep, sessions: SessionsDep, settings: SettingsDep, after: After = 0, limit: Limit = 200
) -> ThreadOut:
    async with sessions() as session:
        view = await service.read_thread(session, settings, order_id=order_id, viewer=who, after_seq=after, limit=limit)
        return thread_out(view)


@staff.post(
    "/orders/{order_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Reply to the customer",
    openapi_extra=NEW_MESSAGE_BODY,
)
async def staff_post(
    order_id: OrderId,
    request: Request,
    response: Response,
    who: StaffDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> MessageOut:
    new = await read_new_message(request, settings)
    posted = await service.post_staff_message(
        sessions, store, order_id=order_id, staff_id=who.subject, body=new.body, photos=new.photos
    )
    response.headers["Location"] = f"/v1/staff/orders/{quote(order_id)}/messages"
    return posted_out(posted, staff=True)


@staff.post("/orders/{order_id}/messages/read", response_model=ReadOut, summary="Mark customer messages read")
async def staff_read(
    order_id: OrderId, who: StaffDep, sessions: SessionsDep, settings: SettingsDep, body: MarkRead | None = None
) -> ReadOut:
    unread = await service.mark_read(
        sessions, settings, order_id=order_id, viewer=who, up_to=body.up_to if body else None
    )
    return ReadOut(unread_count=unread)


@staff.get(
    "/orders/{order_id}/messages/{message_id}/attachments/{attachment_id}",
    summary="Download a photo (staff)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
async def staff_attachment(
    order_id: OrderId,
    message_id: str,
    attachment_id: str,
    who: StaffDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    return await _download(sessions, store, settings, order_id, message_id, attachment_id, who)


def content_disposition(filename: str) -> str:
    """An ASCII ``filename`` for old clients plus the exact UTF-8 one (RFC 6266); headers must be latin-1."""
    stem, _, extension = filename.rpartition(".")
    ascii_stem = stem.encode("ascii", "ignore").decode().strip() or "photo"
    return f"inline; filename=\"{ascii_stem}.{extension}\"; filename*=UTF-8''{quote(filename)}"


async def _download(
    sessions: async_sessionmaker[AsyncSession],
    store: AttachmentStore,
    settings: MessagingSettings,
    order_id: str,
    message_id: str,
    attachment_id: str,
    who: Principal,
) -> Response:
    async with sessions() as session:
        attachment, content = await service.open_attachment(
            session,
            store,
            settings,
            order_id=order_id,
            message_id=message_id,
            attachment_id=attachment_id,
            viewer=who,
        )
    return Response(
        content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "ETag": f'"{attachment.sha256}"',
        },
    )
