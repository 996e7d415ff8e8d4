"""What an operator alerts on, read from the stack's real Prometheus (docs/operations.md, "Metrics and alerts").

The stack's Prometheus scrapes every process; after one real customer request
and the event it causes, the metrics named in the docs exist with the values the
request and the event imply. A planted fault (an overdue deadline on a real
order's read model, a parked dead letter) moves its gauge, and the dead letter
raises its alert in Prometheus; both are undone afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.events import ORDERS_EVENTS
from daiko.tables import DeadLetter
from devstack.prometheus import scrape_targets
from services.orders.db import OrderRecord
from tests.conftest import StackSettings, kafka_as
from tests.system.portal import Portal, purchase_application

pytestmark = pytest.mark.stack

PATIENCE = 120.0  # a busy shared machine: scrapes every 5 s, but the stack may answer slowly
Json = dict[str, Any]


@pytest.fixture
async def prometheus(system: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{system.prometheus_port}", timeout=30) as client:
        yield client


async def query(prometheus: httpx.AsyncClient, expr: str) -> list[Json]:
    """The instant vector of ``expr`` as Prometheus evaluates it now."""
    response = await prometheus.get("/api/v1/query", params={"query": expr})
    assert response.status_code == 200, response.text
    result: list[Json] = response.json()["data"]["result"]
    return result


def values(result: list[Json]) -> list[float]:
    return [float(sample["value"][1]) for sample in result]


async def eventually(what: str, check: Callable[[], Awaitable[bool]], patience: float = PATIENCE) -> None:
    """Poll ``check`` until it holds; fail saying ``what`` did not happen (never a timing assertion)."""
    deadline = time.monotonic() + patience
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(1.0)


async def scrape(settings: StackSettings, service: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The service's own ``/metrics`` (its scrape-time gauges are read as this asks)."""
    port = {"orders": settings.orders_port, "messaging": settings.messaging_port}[service]
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_prometheus_scrapes_every_process_of_the_stack(
    system: StackSettings, prometheus: httpx.AsyncClient
) -> None:
    expected = scrape_targets(system)

    async def every_target_up() -> bool:
        targets = (await prometheus.get("/api/v1/targets")).json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == dict.fromkeys(expected, "up")

    await eventually(f"every target up: {sorted(expected)}", every_target_up)
    assert {"orders", "deposits", "messaging", "worker", "worker-temporal-sdk", "prometheus"} <= set(expected)


async def test_the_dashboard_shows_the_main_figures_of_each_service(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.get("/consoles/daiko.html")
    assert response.status_code == 200, response.text
    page = response.text
    assert "error executing template" not in page
    outbox_table = page[page.index('id="daiko-outbox"') :].split("</table>")[0]
    for service in ("orders", "deposits", "messaging"):
        assert f"<td>{service}</td>" in outbox_table
    assert "deadlines overdue" in page


async def test_one_request_and_its_event_show_in_the_metrics(
    system: StackSettings, prometheus: httpx.AsyncClient, portal: Portal
) -> None:
    apply_route = '{service="orders", handler="/v1/orders", method="POST", status="2xx"}'
    consumed = 'daiko_events_consumed_total{consumer="messaging-order-events", type="order.applied"}'
    before_requests = sum(values(await query(prometheus, f"daiko_http_requests_total{apply_route}")))
    before_consumed = sum(values(await query(prometheus, consumed)))

    order_id = await portal.customer("metrics").apply(purchase_application())  # the request

    async def counted() -> bool:
        return sum(values(await query(prometheus, f"daiko_http_requests_total{apply_route}"))) > before_requests

    async def event_consumed() -> bool:  # order.applied: orders' outbox → Kafka → messaging
        return sum(values(await query(prometheus, consumed))) > before_consumed

    await eventually(f"the apply request of {order_id} counted", counted)
    latency = await query(
        prometheus, 'daiko_http_request_duration_seconds_count{service="orders", handler="/v1/orders"}'
    )
    assert sum(values(latency)) >= 1
    await eventually(f"order.applied of {order_id} consumed by messaging", event_consumed)

    async def outbox_drained() -> bool:
        return values(await query(prometheus, 'daiko_outbox_backlog_events{service="orders"}')) == [0.0]

    await eventually("the orders outbox backlog back to 0", outbox_drained)
    oldest = await query(prometheus, 'daiko_outbox_oldest_unsent_age_seconds{service="orders"}')
    assert values(oldest) == [0.0]

    partitions = await _partitions(system, ORDERS_EVENTS)

    async def lag_caught_up() -> bool:
        lag = await query(prometheus, 'daiko_consumer_lag_messages{consumer="messaging-order-events"}')
        return len(lag) == partitions and values(lag) == [0.0] * partitions

    await eventually(f"a lag of 0 on each of the {partitions} partitions of {ORDERS_EVENTS}", lag_caught_up)
    lag = await query(prometheus, 'daiko_consumer_lag_messages{consumer="messaging-order-events"}')
    assert {sample["metric"]["partition"] for sample in lag} == {str(p) for p in range(partitions)}
    assert {sample["metric"]["topic"] for sample in lag} == {ORDERS_EVENTS}

    task_queue = system.temporal_task_queue
    for sdk_metric in (
        "temporal_workflow_task_schedule_to_start_latency_seconds_count",
        # The transition is recorded by a local activity (workflow patch "transitions-recorded-as-local-activities").
        "temporal_local_activity_execution_latency_seconds_count",
    ):
        found = await query(prometheus, f'{sdk_metric}{{job="worker-temporal-sdk", task_queue="{task_queue}"}}')
        assert sum(values(found)) >= 1, f"{sdk_metric} of the worker after {order_id} ran"


async def test_no_deadline_is_overdue_until_one_is_planted(
    system: StackSettings,
    prometheus: httpx.AsyncClient,
    portal: Portal,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    assert values(await query(prometheus, "daiko_orders_deadlines_overdue")) == [0.0]

    order_id = await portal.customer("overdue").apply(purchase_application())
    sessions = db_sessions["orders"]
    await eventually(f"{order_id} in the read model", lambda: _in_read_model(sessions, order_id))
    async with sessions() as session, session.begin():
        original = await session.scalar(select(OrderRecord.next_deadline).where(OrderRecord.order_id == order_id))
        grace = timedelta(seconds=system.deadline_overdue_grace_seconds)
        passed = datetime.now(UTC) - grace - timedelta(hours=1)  # as if its rule had not fired an hour ago
        await session.execute(update(OrderRecord).where(OrderRecord.order_id == order_id).values(next_deadline=passed))
    try:
        metrics = await scrape(system, "orders")
        assert metrics[("daiko_orders_deadlines_overdue", (("service", "orders"),))] == 1
        assert metrics[("daiko_orders_deadline_overdue_seconds", (("service", "orders"),))] >= 3600
    finally:
        async with sessions() as session, session.begin():
            await session.execute(
                update(OrderRecord).where(OrderRecord.order_id == order_id).values(next_deadline=original)
            )
    metrics = await scrape(system, "orders")
    assert metrics[("daiko_orders_deadlines_overdue", (("service", "orders"),))] == 0


async def test_a_parked_dead_letter_raises_its_alert(
    system: StackSettings, prometheus: httpx.AsyncClient, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> None:
    consumer = f"metrics-test-{uuid.uuid4().hex[:8]}"
    sessions = db_sessions["messaging"]
    row = {
        "consumer": consumer,
        "topic": ORDERS_EVENTS,
        "partition": 0,
        "offset": 0,
        "payload": b"not an envelope",
        "error": "planted by tests/system/test_metrics.py",
        "attempts": 1,
    }
    async with sessions() as session, session.begin():
        await session.execute(insert(DeadLetter).values(**row))
    firing = f'ALERTS{{alertname="DaikoDeadLetters", alertstate="firing", consumer="{consumer}"}}'
    try:
        metrics = await scrape(system, "messaging")
        key = ("daiko_dead_letters_unresolved_messages", (("consumer", consumer), ("service", "messaging")))
        assert metrics[key] == 1

        async def alert_firing() -> bool:
            return values(await query(prometheus, firing)) == [1.0]

        await eventually(f"DaikoDeadLetters firing for {consumer}", alert_firing)
        dashboard = (await prometheus.get("/consoles/daiko.html")).text
        alerts_table = dashboard[dashboard.index('id="daiko-alerts"') :].split("</table>")[0]
        assert f"consumer={consumer} service=messaging" in alerts_table
    finally:
        async with sessions() as session, session.begin():
            await session.execute(delete(DeadLetter).where(DeadLetter.consumer == consumer))

    async def alert_resolved() -> bool:
        return await query(prometheus, firing) == []

    await eventually(f"DaikoDeadLetters for {consumer} resolved once the letter is gone", alert_resolved)


async def _in_read_model(sessions: async_sessionmaker[AsyncSession], order_id: str) -> bool:
    async with sessions() as session:
        found = await session.scalar(select(OrderRecord.order_id).where(OrderRecord.order_id == order_id))
    return found is not None


async def _partitions(settings: StackSettings, topic: str) -> int:
    from daiko.kafka import admin_client

    admin = admin_client(kafka_as(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(described[0]["partitions"])
