"""Fixtures of the orders tests: the stack's orders service over HTTP, the worker, a driver per customer.

The integration tests talk to the orders process the stack runs
(``daiko-stack restart orders`` after changing its code), so they exercise
exactly what is deployed: uvicorn, the bridge's consumer group, the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from daiko.kafka import idempotent_producer
from tests.conftest import StackSettings, kafka_as
from tests.services.orders.driver import Driver

NEWEST_ROUTE = "/v1/staff/halted-orders/{order_id}/refund"


@pytest.fixture(scope="session")
async def orders_http(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.orders_port}", timeout=60) as http:
        try:
            spec = (await http.get("/openapi.json")).json()
        except httpx.HTTPError:
            pytest.fail("the orders service is not running: `.venv/bin/daiko-stack up orders`", pytrace=False)
        if NEWEST_ROUTE not in spec["paths"]:
            pytest.fail("the running orders service is older than this code: `daiko-stack restart orders`")
        yield http


@pytest.fixture(scope="session")
async def worker(stack: StackSettings) -> None:
    """Order workflows need a worker polling the task queue; fail clearly rather than time out."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await Client.connect(stack.temporal_address, namespace=stack.temporal_namespace)
    for _ in range(50):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=stack.temporal_namespace,
                task_queue=TaskQueue(name=stack.temporal_task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if response.pollers:
            return
        await asyncio.sleep(0.2)
    pytest.fail("no order worker is polling: `.venv/bin/daiko-stack up worker`", pytrace=False)


@pytest.fixture(scope="session")
async def deposits_api(stack: StackSettings) -> bool:
    """Whether the stack's deposits service takes pay-in reports (else tests answer charges themselves)."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            spec = (await http.get(f"http://127.0.0.1:{stack.deposits_port}/openapi.json")).json()
    except (httpx.HTTPError, ValueError):
        return False
    paths = spec.get("paths", {})
    return "/v1/deposit/pay-in-reports" in paths and "/v1/staff/pay-in-reports/{report_id}/confirm" in paths


@pytest.fixture(scope="session")
async def producer(stack: StackSettings) -> AsyncIterator[AIOKafkaProducer]:
    kafka = idempotent_producer(kafka_as(stack, "deposits"))  # it stands in for deposits' answers
    await kafka.start()
    yield kafka
    await kafka.stop()


@pytest.fixture
def driver(
    stack: StackSettings,
    orders_http: httpx.AsyncClient,
    worker: None,
    producer: AIOKafkaProducer,
    deposits_api: bool,
    customer_id: str,
) -> Driver:
    return Driver(stack, orders_http, producer, customer_id, deposits_api=deposits_api)
