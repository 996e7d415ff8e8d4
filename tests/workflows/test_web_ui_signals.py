"""Staff's Web UI way, for real: every staff signal sent with the ``temporal`` CLI to the stack's Temporal.

The CLI's ``workflow signal --input '<json>'`` goes through the same frontend
API, with the same ``json/plain`` payload, as the Web UI's "Send signal"
form; the Web UI server of the stack (``temporal-ui``) is asked, through the
HTTP API its pages use, for the order and for the signals it offers. The
stack's Temporal server (on PostgreSQL, with our search attributes) runs the
orders; the worker runs in-process with the in-memory recorder, on a task
queue of its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from devstack.processes import port_open
from tests.conftest import StackSettings
from tests.workflows.order_harness import LEDGER, VENV_BIN, OrderHandle, Recorder, Shop, application
from workflows import DEPOSIT_EVENT_SIGNAL, STAFF_OPERATIONS
from workflows.models import (
    ItemStatus,
    OrderStatus,
    OrderView,
    ReceptionOutcome,
    ReceptionReportRequest,
    ServiceType,
)
from workflows.order_workflow import OrderWorkflow
from workflows.search_attributes import CUSTOMER_ID, NEXT_DEADLINE, ORDER_STATUS, SERVICE_TYPE

TEMPORAL = str(VENV_BIN / "temporal")

pytestmark = pytest.mark.stack


@dataclass
class DevServer:
    """The stack's Temporal server, as a test reaches it: its frontend address and a client."""

    address: str
    namespace: str
    client: Client


@pytest.fixture
async def dev_server(stack: StackSettings) -> AsyncIterator[DevServer]:
    """The stack's real Temporal server (``daiko-stack up``); each test uses task queues of its own."""
    host, _, port = stack.temporal_address.rpartition(":")
    if not port_open(host, int(port)):
        pytest.fail(f"the stack's Temporal is not running at {stack.temporal_address}: `make up`", pytrace=False)
    client = await Client.connect(
        stack.temporal_address, namespace=stack.temporal_namespace, data_converter=pydantic_data_converter
    )
    yield DevServer(address=stack.temporal_address, namespace=stack.temporal_namespace, client=client)


class Staff:
    """A staff member at the Web UI: signals an order with a JSON payload, then looks at it."""

    def __init__(self, address: str, shop: Shop) -> None:
        self.address = address
        self.shop = shop
        self.sent: list[str] = []

    async def signal(self, handle: OrderHandle, name: str, payload: dict[str, Any]) -> OrderView:
        before = await self.shop.view(handle)
        cli = await asyncio.create_subprocess_exec(
            TEMPORAL, "workflow", "signal", "--address", self.address, "--namespace", self.shop.client.namespace,
            "--workflow-id", handle.id,
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
        assert view.status is OrderStatus.APPLIED  # recorded for staff only, not in the customer's history
        assert [r.signal for r in (await shop.staff_part(canceled)).rejected_signals] == ["item_arrived"]
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


async def _web_ui_metadata(web: httpx.AsyncClient, namespace: str, workflow_id: str) -> dict[str, Any]:
    """What the Web UI's "Send signal" form offers: the workflow's metadata query, through the UI server's API."""
    await web.get("/api/v1/settings")  # sets the UI server's CSRF cookie, as opening the page does
    answer = await web.post(
        f"/api/v1/namespaces/{namespace}/workflows/{workflow_id}/query/__temporal_workflow_metadata",
        json={"query": {"queryType": "__temporal_workflow_metadata"}},
        headers={"X-CSRF-TOKEN": web.cookies.get("_csrf") or ""},
    )
    assert answer.status_code == 200, answer.text
    payload = answer.json()["queryResult"]["payloads"][0]
    metadata: dict[str, Any] = (
        json.loads(base64.b64decode(payload["data"])) if isinstance(payload, dict) and "data" in payload else payload
    )
    return metadata


async def test_the_web_ui_lists_the_order_and_every_signal_staff_can_send(
    dev_server: DevServer, stack: StackSettings
) -> None:
    recorder = Recorder()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    customer_id = f"cust-ui-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_server.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
    ):
        shop = Shop(client=dev_server.client, recorder=recorder, task_queue=queue)
        handle = await shop.apply(application(customer_id=customer_id))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.temporal_ui_port}", timeout=10) as web:
            listing = f"/api/v1/namespaces/{dev_server.namespace}/workflows"
            async with asyncio.timeout(20):
                while True:
                    found = (await web.get(listing, params={"query": f'CustomerId = "{customer_id}"'})).json()
                    if [e["execution"]["workflowId"] for e in found.get("executions") or []] == [handle.id]:
                        break
                    await asyncio.sleep(0.2)
            metadata = await _web_ui_metadata(web, dev_server.namespace, handle.id)

    definition = metadata["definition"]
    signals = {signal.get("name", ""): signal.get("description", "") for signal in definition["signalDefinitions"]}
    assert "recorded as rejected" in signals[""], "any other name is caught by the dynamic handler, and says so"
    assert set(STAFF_OPERATIONS) | {DEPOSIT_EVENT_SIGNAL} <= set(signals)
    assert all(signals[name] for name in STAFF_OPERATIONS), "each staff signal says what it does"
    assert "Status: applied" in metadata["currentDetails"]
