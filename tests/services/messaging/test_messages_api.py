"""The message history API: who sees what, replies, read/unread, threads awaiting a reply, bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.contracts.examples import billing
from tests.services.messaging.conftest import (
    Client,
    MessagingEvents,
    OrderEvents,
    new_customer_id,
    new_order_id,
)

pytestmark = pytest.mark.stack


async def known_order(order_events: OrderEvents, client: Client, customer: str) -> str:
    order_id = new_order_id()
    await order_events.publish("order.applied", order_id, customer, status="applied")
    await client.status_when(order_id, "applied")
    return order_id


async def test_customer_and_staff_talk_newest_last(
    order_events: OrderEvents,
    as_customer: Callable[[str], Client],
    as_staff: Client,
    messaging_events: MessagingEvents,
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)

    first = await me.post(order_id, "Could you change the quantity of the blue mug to 2?")
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/orders/{order_id}/messages"
    reply = await as_staff.post(order_id, "Done: we will send a new estimate.")
    assert reply.status_code == 201
    assert (await me.post(order_id, "Thank you!")).status_code == 201

    thread = (await me.thread(order_id)).json()
    assert [m["body"] for m in thread["messages"]] == [
        "Could you change the quantity of the blue mug to 2?",
        "Done: we will send a new estimate.",
        "Thank you!",
    ]
    assert [m["author_role"] for m in thread["messages"]] == ["customer", "staff", "customer"]
    assert all(m["author_id"] is None for m in thread["messages"])  # staff identities stay internal
    staff_view = (await as_staff.thread(order_id)).json()
    assert staff_view["messages"][1]["author_id"] == "staff-1"
    assert staff_view["messages"][0]["author_id"] == customer

    posted = await messaging_events.wait_for(
        lambda e: e.data.get("message_id") == first.json()["id"], "message.posted for the customer's message"
    )
    assert posted.type == "message.posted" and posted.subject == order_id
    assert posted.data["customer_id"] == customer and posted.data["author_role"] == "customer"


async def test_another_customers_thread_is_a_404_everywhere(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    owner = new_customer_id()
    order_id = await known_order(order_events, as_customer(owner), owner)
    assert (await as_customer(owner).post(order_id, "mine")).status_code == 201
    stranger = as_customer(new_customer_id())

    for response in (
        await stranger.thread(order_id),
        await stranger.post(order_id, "let me in"),
        await stranger.mark_read(order_id),
    ):
        assert response.status_code == 404
        assert response.json()["type"].endswith("/order-not-known")  # exactly as for an order nobody has
    assert [m["body"] for m in (await as_customer(owner).thread(order_id)).json()["messages"]] == ["mine"]


async def test_staff_cannot_write_on_an_order_messaging_has_never_heard_of(as_staff: Client) -> None:
    order_id = new_order_id()
    assert (await as_staff.post(order_id, "Hello?")).status_code == 404
    assert (await as_staff.thread(order_id)).status_code == 404


async def test_roles_and_tokens(as_customer: Callable[[str], Client], as_staff: Client) -> None:
    me = as_customer(new_customer_id())
    assert (await me.api.get("/v1/staff/threads", headers=me.headers)).status_code == 403
    assert (await me.api.get(f"/v1/orders/{new_order_id()}/messages")).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert (await me.api.get(f"/v1/orders/{new_order_id()}/messages", headers=bad)).status_code == 401
    # Staff use their own paths; the customer's are for customers.
    assert (
        await as_staff.api.get(f"/v1/orders/{new_order_id()}/messages", headers=as_staff.headers)
    ).status_code == 403


async def test_awaiting_reply_follows_who_wrote_last(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)

    async def awaiting() -> dict[str, dict[str, object]]:
        page = await as_staff.api.get(
            "/v1/staff/threads", params={"awaiting_reply": "true", "limit": 200}, headers=as_staff.headers
        )
        assert page.status_code == 200
        return {t["order_id"]: t for t in page.json()["threads"]}

    assert order_id not in await awaiting()
    await me.post(order_id, "Question one")
    await me.post(order_id, "Question two")
    waiting = (await awaiting())[order_id]
    assert waiting["unread_for_staff"] == 2 and waiting["customer_id"] == customer

    await as_staff.post(order_id, "Answer")
    assert order_id not in await awaiting()
    # A notice does not count as an answer, nor as a question.
    await order_events.publish("order.paid", order_id, customer, amount=100, billing_seq=1)
    await me.notices_when(order_id, 1)
    assert order_id not in await awaiting()


async def test_read_marks_move_each_sides_unread_count(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    await order_events.publish("order.estimated", order_id, customer, billing=billing(total=500))
    await me.notices_when(order_id, 1)
    first_reply = (await as_staff.post(order_id, "Reply 1")).json()
    await as_staff.post(order_id, "Reply 2")
    await me.post(order_id, "Customer note")

    thread = (await me.thread(order_id)).json()
    assert thread["unread_count"] == 3  # the notice and two staff replies; never one's own messages
    assert (await as_staff.thread(order_id)).json()["unread_count"] == 1

    # GET never marks anything read.
    assert (await me.thread(order_id)).json()["unread_count"] == 3

    partial = await me.mark_read(order_id, up_to=first_reply["id"])
    assert partial.status_code == 200 and partial.json() == {"unread_count": 1}
    assert (await me.mark_read(order_id)).json() == {"unread_count": 0}
    # Cursors never move back.
    assert (await me.mark_read(order_id, up_to=first_reply["id"])).json() == {"unread_count": 0}
    messages = (await me.thread(order_id)).json()["messages"]
    assert all(m["read_by_customer"] for m in messages)
    assert not messages[-1]["read_by_staff"]

    assert (await as_staff.mark_read(order_id)).json() == {"unread_count": 0}
    assert (await as_staff.thread(order_id)).json()["messages"][-1]["read_by_staff"]
    assert (await me.mark_read(order_id, up_to=new_order_id())).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "message-empty"), ("   \n ", "message-empty"), ("x" * 5001, "message-too-long")],
    ids=["empty", "blank", "too-long"],
)
async def test_empty_or_oversized_text_is_refused(
    order_events: OrderEvents, as_customer: Callable[[str], Client], body: str, code: str
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    for response in (await me.post(order_id, body), await me.post(order_id, data={"body": body}, files=[])):
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith(f"/{code}")
        assert response.json()["errors"][0]["field"] == "body"
    assert (await me.thread(order_id)).json()["messages"] == []


async def test_malformed_requests_get_problems_not_500s(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    url = f"/v1/orders/{order_id}/messages"
    headers = me.headers

    cases = [
        (await me.api.post(url, content=b"hello", headers={**headers, "content-type": "text/plain"}), 415),
        (await me.api.post(url, content=b"{not json", headers={**headers, "content-type": "application/json"}), 422),
        (await me.api.post(url, json={"body": 12}, headers=headers), 422),
        (await me.api.post(url, json={"body": "x", "admin": True}, headers=headers), 422),
        (await me.api.post(url, data={"text": "wrong field"}, files=[], headers=headers), 422),
        (await me.api.post(url, data={"body": "x", "photos": "not a file"}, files=[], headers=headers), 422),
        (await me.api.get(f"{url}?limit=0", headers=headers), 422),
        (await me.api.get(f"{url}?after={2**70}", headers=headers), 422),  # beyond bigint
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await me.thread(order_id)).json()["messages"] == []


async def test_multipart_without_photos_is_a_plain_message(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await known_order(order_events, me, customer)
    response = await me.post(
        order_id, data={"body": "form post"}, files=[("photos", ("", b"", "application/octet-stream"))]
    )
    assert response.status_code == 201, response.text
    assert response.json()["attachments"] == []
