"""Customer routes of the messaging service: thin, each one a use case in :mod:`services.messaging.service`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.auth import CreatingDep, CustomerDep, Principal
from daiko.idempotency import Answer, IdempotencyKey, idempotent
from daiko.openapi import problem_responses
from daiko.params import IdPath
from services.messaging import service
from services.messaging.deps import After, Limit, OrderId, SessionsDep, SettingsDep, StateDep, StoreDep
from services.messaging.schemas import MarkRead, MessageOut, NewMessage, ReadOut, ThreadOut, posted_out, thread_out
from services.messaging.service import Posted, storing
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentStore
from services.messaging.uploads import NewMessageInput, read_new_message

ERRORS = problem_responses(401, 403, 404, 409, 413, 415, 422)
PHOTO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
}
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
                },
                "example": {"body": "The box arrived crushed, photos attached."},
            },
            "application/json": {
                "schema": NewMessage.model_json_schema(),
                "example": {"body": "Could you change the quantity of the blue mug to 2?"},
            },
        },
    }
}

router = APIRouter(prefix="/v1/orders", tags=["messaging"], responses=ERRORS)

AddMessage = Callable[[AsyncSession, list[str]], Awaitable[Posted]]
"""A use case adding one message in the given transaction, appending the storage keys it writes."""


async def post_message(
    request: Request,
    who: Principal,
    state: StateDep,
    key: str | None,
    new: NewMessageInput,
    add: AddMessage,
    location: str,
) -> JSONResponse:
    """One message per ``Idempotency-Key``: a retried POST neither duplicates the message nor its photos."""

    async with storing(state.store) as written:

        async def op(session: AsyncSession) -> Answer:
            posted: Posted = await add(session, written)
            out = posted_out(posted, staff=who.is_staff)
            return Answer(status.HTTP_201_CREATED, out.model_dump(mode="json"), {"Location": location})

        return await idempotent(
            state.sessions, request=request, principal=who, key=key, body=new.identity(), operation=op
        )


@router.get("/{order_id}/messages", response_model=ThreadOut, summary="The order's message history")
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


@router.post(
    "/{order_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send a message (with photos for a problem report)",
    description=(
        "201 when posted. 404 (`order-not-known`, with `Retry-After`) when messaging has not heard of the order: "
        "right after applying, the request first waits a few seconds for the order's first event, so a 404 means "
        "it did not arrive in time (or the order is not yours); nothing is stored, so retry. "
        "409 when the order was completed or canceled too long ago (R3). With an `Idempotency-Key`, a retry "
        "gets the first answer and posts nothing twice."
    ),
    openapi_extra=NEW_MESSAGE_BODY,
)
async def customer_post(
    order_id: OrderId,
    request: Request,
    who: CreatingDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    new = await read_new_message(request, state.settings)
    await service.wait_for_order(
        state.sessions, order_id, who.subject, wait_seconds=state.settings.unknown_order_wait_seconds
    )

    async def add(session: AsyncSession, written: list[str]) -> Posted:
        return await service.add_customer_message(
            session,
            state.store,
            state.settings,
            written,
            order_id=order_id,
            customer_id=who.subject,
            body=new.body,
            photos=new.photos,
        )

    location = f"/v1/orders/{quote(order_id)}/messages"
    return await post_message(request, who, state, idempotency_key, new, add, location)


@router.post("/{order_id}/messages/read", response_model=ReadOut, summary="Mark staff messages and notices read")
async def customer_read(
    order_id: OrderId, who: CustomerDep, sessions: SessionsDep, settings: SettingsDep, body: MarkRead | None = None
) -> ReadOut:
    unread = await service.mark_read(
        sessions, settings, order_id=order_id, viewer=who, up_to=body.up_to if body else None
    )
    return ReadOut(unread_count=unread)


@router.get(
    "/{order_id}/messages/{message_id}/attachments/{attachment_id}",
    summary="Download a photo",
    response_class=Response,
    responses=PHOTO_RESPONSE,
)
async def customer_attachment(
    order_id: OrderId,
    message_id: IdPath,
    attachment_id: IdPath,
    who: CustomerDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    return await download(sessions, store, settings, order_id, message_id, attachment_id, who)


def content_disposition(filename: str) -> str:
    """An ASCII ``filename`` for old clients plus the exact UTF-8 one (RFC 6266); headers must be latin-1."""
    stem, _, extension = filename.rpartition(".")
    ascii_stem = stem.encode("ascii", "ignore").decode().strip() or "photo"
    return f"inline; filename=\"{ascii_stem}.{extension}\"; filename*=UTF-8''{quote(filename)}"


async def download(
    sessions: SessionsDep,
    store: AttachmentStore,
    settings: MessagingSettings,
    order_id: str,
    message_id: IdPath,
    attachment_id: IdPath,
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
