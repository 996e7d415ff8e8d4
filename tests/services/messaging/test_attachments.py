"""Photos for problem reports (R8): accepted and refused by their content, stored, downloadable by the right people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.messaging.db import Attachment, Message
from services.messaging.settings import MessagingSettings
from services.messaging.storage import LocalAttachmentStore
from tests.services.messaging import images
from tests.services.messaging.conftest import Client, OrderEvents, new_customer_id, new_order_id

pytestmark = pytest.mark.stack

SETTINGS = MessagingSettings()


def stored_files() -> set[Path]:
    root = SETTINGS.attachment_path
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def known_order(order_events: OrderEvents, client: Client, customer: str) -> str:
    order_id = new_order_id()
    await order_events.publish("order.disputed", order_id, customer, status="disputed")
    await client.status_when(order_id, "disputed")
    return order_id


async def rows_for(db: async_sessionmaker[AsyncSession], order_id: str) -> tuple[int, int]:
    async with db() as session:
        messages = await session.scalar(select(func.count()).select_from(Message).where(Message.order_id == order_id))
        attachments = await session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.order_id == order_id)
        )
    return int(messages or 0), int(attachments or 0)


async def test_r8_problem_report_with_png_jpeg_and_webp_photos(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    photos = {"scratch.png": images.png(), "dent.jpeg": images.jpeg(), "crack.webp": images.webp()}
    # Names and declared types are deliberately wrong: only the bytes count.
    files = [("photos", (name, content, "application/octet-stream")) for name, content in photos.items()]
    files[2] = ("photos", ("crack.txt", images.webp(), "text/plain"))

    response = await me.post(order_id, data={"body": "The mug arrived broken, see photos."}, files=files)

    assert response.status_code == 201, response.text
    attachments = response.json()["attachments"]
    assert [(a["filename"], a["content_type"]) for a in attachments] == [
        ("scratch.png", "image/png"),
        ("dent.jpg", "image/jpeg"),
        ("crack.webp", "image/webp"),
    ]
    for attachment, content in zip(attachments, photos.values(), strict=True):
        for client in (me, as_staff):
            url = attachment["url"].replace("/v1/orders", client.prefix)
            download = await client.api.get(url, headers=client.headers)
            assert download.status_code == 200
            assert download.content == content
            assert download.headers["content-type"] == attachment["content_type"]
            assert download.headers["x-content-type-options"] == "nosniff"
    # Staff see it in the thread as an unanswered problem report.
    staff_view = (await as_staff.thread(order_id)).json()
    assert staff_view["messages"][-1]["attachments"][0]["url"].startswith("/v1/staff/orders/")


async def test_photos_are_private_to_the_orders_customer_and_staff(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    response = await me.post(order_id, data={"body": "photo"}, files=[("photos", ("a.png", images.png(), "image/png"))])
    url = response.json()["attachments"][0]["url"]

    stranger = as_customer(new_customer_id())
    assert (await stranger.api.get(url, headers=stranger.headers)).status_code == 404
    assert (await me.api.get(url.replace(order_id, new_order_id()), headers=me.headers)).status_code == 404
    assert (await me.api.get(url)).status_code == 401


@pytest.mark.parametrize(
    "fake",
    [
        b"This is not a picture at all",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"",
    ],
    ids=["text", "gif", "svg", "empty"],
)
async def test_a_fake_image_is_refused_and_nothing_is_stored(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
    fake: bytes,
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    before_rows, before_files = await rows_for(db_sessions["messaging"], order_id), stored_files()

    files = [("photos", ("good.png", images.png(), "image/png")), ("photos", ("defect.png", fake, "image/png"))]
    response = await me.post(order_id, data={"body": "see photos"}, files=files)

    assert response.status_code == 415
    problem = response.json()
    assert problem["type"].endswith("/unsupported-photo")
    assert "defect.png" in problem["detail"] and "JPEG, PNG or WebP" in problem["detail"]
    assert await rows_for(db_sessions["messaging"], order_id) == before_rows
    assert stored_files() == before_files


async def test_too_many_photos_are_refused(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    before = await rows_for(db_sessions["messaging"], order_id)
    files = [("photos", (f"p{i}.png", images.png(), "image/png")) for i in range(SETTINGS.attachment_max_count + 1)]

    response = await me.post(order_id, data={"body": "many photos"}, files=files)

    assert response.status_code == 422
    assert response.json()["type"].endswith("/too-many-photos")
    assert f"at most {SETTINGS.attachment_max_count}" in response.json()["detail"]
    assert await rows_for(db_sessions["messaging"], order_id) == before


async def test_a_photo_over_the_size_limit_is_refused(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    before_rows, before_files = await rows_for(db_sessions["messaging"], order_id), stored_files()
    huge = images.png() + b"\x00" * (SETTINGS.attachment_max_bytes - len(images.png()) + 1)
    just_fits = images.jpeg() + b"\x00" * (SETTINGS.attachment_max_bytes - len(images.jpeg()))

    refused = await me.post(order_id, data={"body": "big"}, files=[("photos", ("big.png", huge, "image/png"))])
    assert refused.status_code == 413
    assert refused.json()["type"].endswith("/photo-too-large")
    assert await rows_for(db_sessions["messaging"], order_id) == before_rows
    assert stored_files() == before_files

    accepted = await me.post(order_id, data={"body": "fits"}, files=[("photos", ("ok.jpg", just_fits, "image/jpeg"))])
    assert accepted.status_code == 201
    assert accepted.json()["attachments"][0]["size_bytes"] == SETTINGS.attachment_max_bytes


async def test_a_storage_failure_midway_leaves_no_file_and_no_row(
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
    tmp_path: Path,
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
) -> None:
    """The second photo cannot be stored: the first one is removed again and the message is not saved."""
    from daiko.db import transaction
    from services.messaging import service
    from services.messaging.domain import ImageKind
    from services.messaging.repository import NewPhoto

    class BrokenAfterOne(LocalAttachmentStore):
        puts = 0

        async def put(self, key: str, content: bytes, content_type: str) -> None:
            self.puts += 1
            if self.puts > 1:
                raise OSError("disk full")
            await super().put(key, content, content_type)

    store = BrokenAfterOne(tmp_path)
    order_id, customer = new_order_id(), new_customer_id()
    await order_events.publish("order.applied", order_id, customer)
    await as_customer(customer).status_when(order_id, "applied")
    photos = [NewPhoto("a.png", images.png(), ImageKind.PNG), NewPhoto("b.jpg", images.jpeg(), ImageKind.JPEG)]
    with pytest.raises(OSError, match="disk full"):
        async with service.storing(store) as written, transaction(db_sessions["messaging"]) as session:
            await service.add_customer_message(
                session,
                store,
                SETTINGS,
                written,
                order_id=order_id,
                customer_id=customer,
                body="two photos",
                photos=photos,
            )
    assert store.puts == 2
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert await rows_for(db_sessions["messaging"], order_id) == (0, 0)
