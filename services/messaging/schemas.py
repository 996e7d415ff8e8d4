"""Request and response bodies of the messaging API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from contracts.ids import MessageId
from services.messaging.db import Attachment, Message, Thread
from services.messaging.domain import AuthorRole, MessageState
from services.messaging.service import Posted, ThreadView


class NewMessage(BaseModel):
    """JSON form of a new message (no photos); with photos, send ``multipart/form-data`` instead."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Could you change the quantity of the blue mug to 2?"}]},
    )

    body: StrictStr


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"up_to": "3f0c…"}]})

    up_to: MessageId | None = Field(default=None, description="Mark read up to this message; default: everything")


class ReadOut(BaseModel):
    unread_count: int


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size_bytes: int
    url: str


class MessageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6a1f0d4e-0b7e-4d1e-9c55-1f0d1c1b2a3b",
                    "order_id": "ord-20261126-0001",
                    "seq": 1042,
                    "author_role": "system",
                    "author_id": None,
                    "kind": "notice",
                    "notice_type": "estimate_ready",
                    "body": "The estimate of your order is ready. The amount to pay is ¥12,345. …",
                    "data": {"billing": {"seq": 1, "revision": 1, "total": 12345, "due_at": "2026-12-03T09:00:00Z"}},
                    "state": "posted",
                    "created_at": "2026-11-26T09:00:00Z",
                    "attachments": [],
                    "read_by_customer": False,
                    "read_by_staff": True,
                }
            ]
        }
    )

    id: str
    order_id: str
    seq: int
    author_role: AuthorRole
    author_id: str | None = Field(description="Shown to staff only")
    kind: str = Field(description="'message' (written by a person) or 'notice' (from an order event)")
    notice_type: str | None
    body: str
    data: dict[str, Any]
    state: MessageState = Field(description="Always 'posted' in a thread (messages are shown once posted)")
    created_at: datetime
    attachments: list[AttachmentOut]
    read_by_customer: bool = Field(description="The customer wrote it or has marked it read")
    read_by_staff: bool = Field(description="Staff or the system wrote it, or staff have marked it read")


class ThreadOut(BaseModel):
    order_id: str
    order_status: str | None
    service_type: str | None
    closed_at: datetime | None
    can_post: bool
    post_refused_reason: str | None
    unread_count: int = Field(description="Messages from the other side the caller has not marked read")
    messages: list[MessageOut] = Field(description="Oldest first, newest last")
    next_after: int | None = Field(description="Pass as ?after= to read the next page; null at the end")


class ThreadSummaryOut(BaseModel):
    order_id: str
    customer_id: str | None
    status: str | None
    service_type: str | None
    closed_at: datetime | None
    awaiting_reply: bool
    awaiting_since: datetime | None
    last_message_at: datetime | None
    unread_for_staff: int


class ThreadListOut(BaseModel):
    threads: list[ThreadSummaryOut]
    limit: int
    offset: int


def attachment_out(attachment: Attachment, message: Message, *, staff: bool) -> AttachmentOut:
    base = "/v1/staff/orders" if staff else "/v1/orders"
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        url=f"{base}/{message.order_id}/messages/{message.id}/attachments/{attachment.id}",
    )


def message_out(message: Message, attachments: list[Attachment], thread: Thread | None, *, staff: bool) -> MessageOut:
    posted = message.state == MessageState.POSTED and thread is not None
    return MessageOut(
        id=message.id,
        order_id=message.order_id,
        seq=message.seq,
        author_role=AuthorRole(message.author_role),
        author_id=message.author_id if staff else None,
        kind=message.kind,
        notice_type=message.notice_type,
        body=message.body,
        data=message.data or {},
        state=MessageState(message.state),
        created_at=message.created_at,
        attachments=[attachment_out(a, message, staff=staff) for a in attachments],
        read_by_customer=message.author_role == AuthorRole.CUSTOMER
        or (posted and thread is not None and message.seq <= thread.customer_read_seq),
        read_by_staff=message.author_role != AuthorRole.CUSTOMER
        or (posted and thread is not None and message.seq <= thread.staff_read_seq),
    )


def posted_out(posted: Posted, thread: Thread | None = None, *, staff: bool) -> MessageOut:
    return message_out(posted.message, posted.attachments, thread, staff=staff)


def thread_out(view: ThreadView) -> ThreadOut:
    staff = view.side == AuthorRole.STAFF
    thread = view.thread
    return ThreadOut(
        order_id=view.order_id,
        order_status=thread.status if thread else None,
        service_type=thread.service_type if thread else None,
        closed_at=thread.closed_at if thread else None,
        can_post=view.can_post,
        post_refused_reason=view.post_refused_reason,
        unread_count=view.unread_count,
        messages=[message_out(m, view.attachments.get(m.id, []), thread, staff=staff) for m in view.messages],
        next_after=view.messages[-1].seq if view.has_more and view.messages else None,
    )


def summary_out(thread: Thread, unread: int) -> ThreadSummaryOut:
    return ThreadSummaryOut(
        order_id=thread.order_id,
        customer_id=thread.customer_id,
        status=thread.status,
        service_type=thread.service_type,
        closed_at=thread.closed_at,
        awaiting_reply=thread.awaiting_reply,
        awaiting_since=thread.awaiting_since,
        last_message_at=thread.last_message_at,
        unread_for_staff=unread,
    )
