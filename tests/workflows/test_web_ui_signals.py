"""Staff's Web UI way, for real: every staff signal sent with the ``temporal`` CLI to a dev server.

The CLI's ``workflow signal --input '<json>'`` goes through the same frontend
API, with the same ``json/plain`` payload, as the Web UI's "Send signal"
form. A dev server (``temporal server start-dev``, started here on free ports
with our search attributes) runs the orders; the worker runs in-process with
the in-memory recorder.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from tests.workflows.order_harness import LEDGER, VENV_BIN, OrderHandle, Recorder, Shop, application
from workflows import STAFF_OPERATIONS
from workflows.models import (
    ItemStatus,
    OrderStatus,
    OrderView,
    ReceptionOutcome,
    ReceptionReportRequest,
    ServiceType,
)
from workflows.order_workflow import OrderWorkflow
from workflows.search_attributes import CUSTOMER_ID, NEXT_DEADLINE, ORDER_STATUS, SERVICE_TYPE, cli_flags

TEMPORAL = str(VENV_BIN / "temporal")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class DevServer:
    address: str
    client: Client


@pytest.fixture
async def dev_server() -> AsyncIterator[DevServer]:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        TEMPORAL, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
        "--log-level", "error", *cli_flags(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        address = f"127.0.0.1:{port}"
        async with asyncio.timeout(30):
            while True:
                try:
                    client = await Client.connect(address, data_converter=pydantic_data_converter)
                    break
                except RuntimeError:
                    await asyncio.sleep(0.1)
        yield DevServer(address=address, client=client)
    finally:
        server.terminate()
        await server.wait()


class Staff:
    """A staff member at the Web UI: signals an order with a JSON payload, then looks at it."""

    def __init__(self, address: str, shop: Shop) -> None:
        self.address = address
        self.shop = shop
        self.sent: list[str] = []

    async def signal(self, handle: OrderHandle, name: str, payload: dict[str, Any]) -> OrderView:
        before = await self.shop.view(handle)
        cli = await asyncio.create_subprocess_exec(
            TEMPORAL, "workflow", "signal", "--address", self.address, "--workflow-id", handle.id,
            "--name", name, "--input", json.dumps(payload),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await cli.communicate()
        assert cli.returncode == 0, (out + err).decode()
        self.sent.append(name)
        async with asyncio.timeout(10):
            while (after := await self.shop.view(handle)).version == before.version:
                await asyncio.sleep(0.05)
        return after


async def test_every_staff_signal_sent_through_the_temporal_cli_moves_the_order(dev_server: DevServer) -> None:
    recorder = Recorder()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_server.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
    ):
        shop = Shop(client=dev_server.client, recorder=recorder, task_queue=queue)
        staff = Staff(dev_server.address, shop)

        purchase = await shop.apply(application(customer_id="cust-cli"))
        view = await staff.signal(purchase, "estimate", {"domestic_shipping": 800, "service_fee": 500, "actor": "yuki"})
        assert view.status is OrderStatus.AWAITING_PAYMENT and view.billings[0].total == 12300
        view = await staff.signal(purchase, "amend_items", {"changes": [{"item_id": "1", "quantity": 3}]})
        assert view.items[0].quantity == 3 and view.billings[0].revision == 2
        view = await staff.signal(purchase, "move_deadline", {"deadline": "payment", "shift_by": "P1D"})
        assert view.deadlines[0].moved_by == "staff"
        await shop.pay(purchase, 1)
        view = await staff.signal(purchase, "item_purchased", {"item_id": "1"})
        assert view.items[0].status is ItemStatus.PURCHASED
        view = await staff.signal(purchase, "item_unavailable", {"item_id": "2", "reason": "sold out"})
        assert view.items[1].status is ItemStatus.UNAVAILABLE and view.refunded_total == 5000
        view = await staff.signal(purchase, "item_arrived", {"item_id": "1"})
        assert view.status is OrderStatus.AT_WAREHOUSE
        view = await staff.signal(purchase, "issue_second_billing", {"international_shipping": 2400})
        assert view.status is OrderStatus.AWAITING_SECOND_PAYMENT
        await shop.pay(purchase, 2)
        view = await staff.signal(
            purchase, "ship", {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM1JP", "EM2JP"]}
        )
        assert (
            view.status is OrderStatus.SHIPPED
            and view.shipment
            and view.shipment.tracking_numbers == ["EM1JP", "EM2JP"]
        )
        await shop.customer(purchase, "report_reception", ReceptionReportRequest(outcome=ReceptionOutcome.PROBLEM))
        view = await staff.signal(
            purchase, "resolve_dispute", {"refund_amount": 2400, "resolution": "shipping refunded"}
        )
        assert view.status is OrderStatus.COMPLETED

        forward = await shop.apply(application(service=ServiceType.FORWARD))
        view = await staff.signal(forward, "confirm_handling", {"service_fee": 1000})
        assert view.status is OrderStatus.AWAITING_PAYMENT
        view = await staff.signal(forward, "cannot_handle", {"reason": "lithium batteries"})
        assert view.status is OrderStatus.CANCELED

        canceled = await shop.apply(application())
        view = await staff.signal(canceled, "item_arrived", {"item": "1"})  # malformed: recorded, nothing else
        assert view.status is OrderStatus.APPLIED and view.history[-1].action == "signal rejected"
        view = await staff.signal(canceled, "cancel_order", {"reason": "asked by message", "actor": "kenji"})
        assert view.status is OrderStatus.CANCELED and view.history[-1].actor == "staff:kenji"

        assert set(staff.sent) == set(STAFF_OPERATIONS)
        for handle in (purchase, forward, canceled):
            await shop.answer_deposit(handle)
            assert (await asyncio.wait_for(handle.result(), 10)).status in (OrderStatus.COMPLETED, OrderStatus.CANCELED)


async def test_staff_find_orders_by_search_attributes(dev_server: DevServer) -> None:
    recorder = Recorder()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_server.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
    ):
        shop = Shop(client=dev_server.client, recorder=recorder, task_queue=queue)
        handle = await shop.apply(application(customer_id="cust-sa", service=ServiceType.FORWARD))
        staff = Staff(dev_server.address, shop)
        view = await staff.signal(handle, "confirm_handling", {"service_fee": 1000})

        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(CUSTOMER_ID) == "cust-sa"
        assert attributes.get(ORDER_STATUS) == "awaiting_payment"
        assert attributes.get(SERVICE_TYPE) == "forward"
        assert attributes.get(NEXT_DEADLINE) == view.next_deadline
        query = 'CustomerId = "cust-sa" AND OrderStatus = "awaiting_payment" AND ServiceType = "forward"'
        async with asyncio.timeout(10):
            while not [w async for w in dev_server.client.list_workflows(query)]:
                await asyncio.sleep(0.1)
