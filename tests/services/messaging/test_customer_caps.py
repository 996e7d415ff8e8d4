"""Caps per customer on the running stack: photo bytes are bounded (429), text is canonical.

Messages to orders messaging has not heard of are refused outright (404,
``test_unknown_orders.py``), so only photos on real orders count here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.messaging.settings import MessagingSettings
from tests.services.messaging import images
from tests.services.messaging.conftest import Client, OrderEvents, new_customer_id, new_order_id

pytestmark = pytest.mark.stack

SETTINGS = MessagingSettings()


async def test_photo_bytes_past_the_daily_cap_are_refused_with_429(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    """Full-size photos until the day's bytes are used up; the next photo is refused and nothing is stored."""
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    await order_events.publish("order.disputed", order_id, customer, status="disputed")
    await me.status_when(order_id, "disputed")
    photo = images.jpeg() + b"\x00" * (SETTINGS.attachment_max_bytes - len(images.jpeg()))
    fitting = SETTINGS.upload_bytes_max_per_customer_day // len(photo)
    per_message = max(1, SETTINGS.attachment_max_count)
    posted = 0
    while posted < fitting:
        count = min(per_message, fitting - posted)
        files = [("photos", (f"p{n}.jpg", photo, "image/jpeg")) for n in range(count)]
        response = await me.post(order_id, data={"body": "photos"}, files=files)
        assert response.status_code == 201, response.text
        posted += count
    refused = await me.post(order_id, data={"body": "one more"}, files=[("photos", ("last.jpg", photo, "image/jpeg"))])
    assert refused.status_code == 429, refused.text
    assert refused.json()["type"].endswith("/customer-cap-reached")
    thread = (await me.thread(order_id)).json()
    assert sum(len(m.get("attachments", [])) for m in thread["messages"]) == fitting
    assert (await me.post(order_id, "text still goes through")).status_code == 201


async def test_a_control_character_in_a_multipart_body_is_a_422(as_customer: Callable[[str], Client]) -> None:
    me = as_customer(new_customer_id())
    files = [("photos", ("p.png", images.png(), "image/png"))]
    refused = await me.post(new_order_id(), data={"body": "nul\x00here"}, files=files)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/control-characters")
