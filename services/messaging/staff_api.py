"""Staff routes of the messaging service: every thread, any order's history, replies and photos."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from daiko.auth import StaffDep
from daiko.db import MAX_BIGINT
from daiko.idempotency import IdempotencyKey
from daiko.params import IdPath
from services.messaging import repository as repo
from services.messaging import service
from services.messaging.api import ERRORS, NEW_MESSAGE_BODY, PHOTO_RESPONSE, download, post_message
from services.messaging.deps import After, Limit, OrderId, SessionsDep, SettingsDep, StateDep, StoreDep
from services.messaging.schemas import MarkRead, MessageOut, ReadOut, ThreadListOut, ThreadOut, summary_out, thread_out
from services.messaging.service import Posted
from services.messaging.uploads import read_new_message

router = APIRouter(prefix="/v1/staff", tags=["messaging-staff"], responses=ERRORS)


@router.get("/threads", response_model=ThreadListOut, summary="Threads, e.g. those awaiting a reply")
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


@router.get("/orders/{order_id}/messages", response_model=ThreadOut, summary="The order's message history (staff)")
async def staff_messages(
    order_id: OrderId, who: StaffDep, sessions: SessionsDep, settings: SettingsDep, after: After = 0, limit: Limit = 200
) -> ThreadOut:
    async with sessions() as session:
        view = await service.read_thread(session, settings, order_id=order_id, viewer=who, after_seq=after, limit=limit)
        return thread_out(view)


@router.post(
    "/orders/{order_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Reply to the customer",
    description="Right after applying, waits a few seconds for the order's first event as the customer's post "
    "does; 404 (`order-not-known`) if it did not come. With an `Idempotency-Key`, a retry gets the first answer "
    "and posts nothing twice.",
    openapi_extra=NEW_MESSAGE_BODY,
)
async def staff_post(
    order_id: OrderId,
    request: Request,
    who: StaffDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    new = await read_new_message(request, state.settings)
    await service.wait_for_order(state.sessions, order_id, None, wait_seconds=state.settings.unknown_order_wait_seconds)

    async def add(session: AsyncSession, written: list[str]) -> Posted:
        return await service.add_staff_message(
            session, state.store, written, order_id=order_id, staff_id=who.subject, body=new.body, photos=new.photos
        )

    location = f"/v1/staff/orders/{quote(order_id)}/messages"
    return await post_message(request, who, state, idempotency_key, new, add, location)


@router.post("/orders/{order_id}/messages/read", response_model=ReadOut, summary="Mark customer messages read")
async def staff_read(
    order_id: OrderId, who: StaffDep, sessions: SessionsDep, settings: SettingsDep, body: MarkRead | None = None
) -> ReadOut:
    unread = await service.mark_read(
        sessions, settings, order_id=order_id, viewer=who, up_to=body.up_to if body else None
    )
    return ReadOut(unread_count=unread)


@router.get(
    "/orders/{order_id}/messages/{message_id}/attachments/{attachment_id}",
    summary="Download a photo (staff)",
    response_class=Response,
    responses=PHOTO_RESPONSE,
)
async def staff_attachment(
    order_id: OrderId,
    message_id: IdPath,
    attachment_id: IdPath,
    who: StaffDep,
    sessions: SessionsDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    return await download(sessions, store, settings, order_id, message_id, attachment_id, who)
