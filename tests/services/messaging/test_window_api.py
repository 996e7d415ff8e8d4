"""R3 through the running service: the window is measured from the closing time carried by the order event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.services.messaging.conftest import Client, OrderEvents, new_customer_id, new_order_id

pytestmark = pytest.mark.stack


async def closed_order(order_events: OrderEvents, client: Client, customer: str, event: str, days_ago: int) -> str:
    order_id = new_order_id()
    status = {"order.completed": "completed", "order.canceled": "canceled"}[event]
    closed = datetime.now(UTC) - timedelta(days=days_ago)
    await order_events.publish("order.applied", order_id, customer, status="applied", time=closed - timedelta(days=30))
    closed_at = closed.isoformat()
    extra = {"reason": "customer_request"} if event == "order.canceled" else {}
    await order_events.publish(event, order_id, customer, status=status, closed_at=closed_at, **extra)
    await client.status_when(order_id, status)
    return order_id


@pytest.mark.parametrize("event", ["order.completed", "order.canceled"])
async def test_r3_customer_may_write_89_days_after_closing(
    order_events: OrderEvents, as_customer: Callable[[str], Client], event: str
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await closed_order(order_events, me, customer, event, days_ago=89)

    thread = (await me.thread(order_id)).json()
    assert thread["can_post"] is True
    posted = await me.post(order_id, "The box was damaged, can we talk?")
    assert posted.status_code == 201, posted.text
    assert posted.json()["state"] == "posted"


@pytest.mark.parametrize("event", ["order.completed", "order.canceled"])
async def test_r3_customer_is_refused_91_days_after_closing(
    order_events: OrderEvents, as_customer: Callable[[str], Client], as_staff: Client, event: str
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = await closed_order(order_events, me, customer, event, days_ago=91)
    before = len((await me.thread(order_id)).json()["messages"])

    thread = (await me.thread(order_id)).json()
    assert thread["can_post"] is False
    assert "less than 90 days" in thread["post_refused_reason"]

    refused = await me.post(order_id, "Hello again")
    assert refused.status_code == 409
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/message-window-closed")
    assert problem["window_days"] == 90
    assert "Messages can be sent only on ongoing orders" in problem["detail"]
    assert len((await me.thread(order_id)).json()["messages"]) == before  # nothing stored

    # R3 binds customers only: staff can still write on an old order.
    assert (await as_staff.post(order_id, "We are closing this case.")).status_code == 201


async def test_r3_ongoing_order_is_open_whatever_its_age(
    order_events: OrderEvents, as_customer: Callable[[str], Client]
) -> None:
    customer = new_customer_id()
    me = as_customer(customer)
    order_id = new_order_id()
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await order_events.publish("order.shipped", order_id, customer, status="shipped", time=long_ago)
    await me.status_when(order_id, "shipped")
    assert (await me.post(order_id, "Where is my parcel?")).status_code == 201
