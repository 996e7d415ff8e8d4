"""A shop floor for order workflow tests: a Temporal server, a worker, and a fake orders database.

``Shop`` starts orders, plays staff (updates or signals), plays the customer,
and plays the deposits service by answering the commands the workflow sent.
The in-memory ``Recorder`` registers under the real activity's name
(``record_transition``) and keeps every transition, so a test sees exactly
what the read model and the outbox would have received.

Used by the rule tests, the CLI test and ``record_histories.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.attestation import AttestedType
from daiko.events import DEPOSITS_COMMANDS, ORDERS_EVENTS
from services.deposits.service import attest
from services.deposits.settings import DepositsSettings
from services.orders.activities import LedgerVerifier
from services.orders.settings import OrdersSettings
from workflows import RECORD_TRANSITION, STAFF_PART_QUERY, VIEW_QUERY, staff_update_name
from workflows.client import start_order
from workflows.models import (
    DeliveryAddress,
    DepositEvent,
    EstimateRequest,
    ItemRequest,
    OrderApplication,
    OrderPolicy,
    OrderTransition,
    OrderView,
    OutgoingMessage,
    PayBillingRequest,
    PaymentPlan,
    ServiceType,
    StaffPart,
)
from workflows.order_workflow import OrderWorkflow
from workflows.search_attributes import SEARCH_ATTRIBUTES

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
RESULT_TIMEOUT = 60.0  # seconds of real time; a hung workflow task fails the test instead of hanging it

OrderHandle = WorkflowHandle[Any, OrderView]
QUERY_TIMEOUT = timedelta(seconds=5)  # a hung query (see Shop.view) is asked again after this much real time
QUERY_ATTEMPTS = 3


class Recorder:
    """The test double of the orders database: every recorded transition, in order."""

    def __init__(self) -> None:
        self.transitions: list[OrderTransition] = []

    @activity.defn(name=RECORD_TRANSITION)
    async def record_transition(self, transition: OrderTransition) -> None:
        self.transitions.append(transition)

    def of(self, order_id: str) -> list[OrderTransition]:
        return [t for t in self.transitions if t.order_id == order_id]

    def messages(self, order_id: str, message_type: str | None = None) -> list[OutgoingMessage]:
        return [m for t in self.of(order_id) for m in t.messages if message_type is None or m.type == message_type]

    def events(self, order_id: str) -> list[str]:
        """The order events' types, in the order they were recorded."""
        return [m.type for m in self.messages(order_id) if m.topic == ORDERS_EVENTS]

    def commands(self, order_id: str, command_type: str) -> list[OutgoingMessage]:
        return [m for m in self.messages(order_id, command_type) if m.topic == DEPOSITS_COMMANDS]


def application(
    order_id: str | None = None,
    *,
    service: ServiceType = ServiceType.PURCHASE,
    plan: PaymentPlan = PaymentPlan.TWO_TIME,
    policy: OrderPolicy | None = None,
    customer_id: str = "cust-1",
) -> OrderApplication:
    """Two items: 2 x 3,000 yen and 1 x 5,000 yen (purchase: 11,000 yen of items)."""
    forward = service is ServiceType.FORWARD
    return OrderApplication(
        order_id=order_id or f"o-{uuid.uuid4().hex[:10]}",
        customer_id=customer_id,
        service_type=service,
        payment_plan=plan,
        delivery_address=DeliveryAddress(
            name="Alex Martin", country="FR", postal_code="75011", address_lines=["12 rue Oberkampf"], phone="+33"
        ),
        items=[
            ItemRequest(
                name="Figure",
                shop_or_url="https://shop.example/fig",
                quantity=2,
                unit_price_estimate=3000,
                domestic_tracking_number="JP-1" if forward else None,
            ),
            ItemRequest(name="Artbook", shop_or_url="https://shop.example/book", quantity=1, unit_price_estimate=5000),
        ],
        policy=policy or OrderPolicy(),
    )


@dataclass
class Shop:
    client: Client
    recorder: Recorder
    task_queue: str
    env: WorkflowEnvironment | None = None  # the time-skipping server, when time must run
    answered: set[str] = field(default_factory=set)
    delivered: list[Any] = field(default_factory=list)  # every deposit answer sent, in order

    async def apply(self, app: OrderApplication) -> OrderHandle:
        return await start_order(self.client, app, task_queue=self.task_queue)

    async def staff(self, handle: OrderHandle, operation: str, request: BaseModel) -> OrderView:
        """A staff operation through its update (the staff API's way)."""
        view: OrderView = await handle.execute_update(staff_update_name(operation), request, result_type=OrderView)
        return view

    async def signal(self, handle: OrderHandle, name: str, payload: Any) -> None:
        """A signal with a raw JSON-able payload (the Web UI's way)."""
        await handle.signal(name, payload)

    async def customer(self, handle: OrderHandle, update: str, request: BaseModel) -> OrderView:
        view: OrderView = await handle.execute_update(update, request, result_type=OrderView)
        return view

    async def view(self, handle: OrderHandle) -> OrderView:
        """The order's view, asked of its newest run.

        The time-skipping server never answers a query that reaches it while the
        workflow task continuing the run as new is in flight (the dev server
        answers it from the new run); asked again, the new run answers. The
        RPC timeout only turns that hang into a second question.
        """
        for _ in range(QUERY_ATTEMPTS - 1):
            try:
                view: OrderView = await handle.query(VIEW_QUERY, result_type=OrderView, rpc_timeout=QUERY_TIMEOUT)
                return view
            except RPCError as error:
                if error.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                    raise  # the client's deadline; CANCELLED is how the bridge reports its own timer
        view = await handle.query(VIEW_QUERY, result_type=OrderView, rpc_timeout=QUERY_TIMEOUT)
        return view

    async def staff_part(self, handle: OrderHandle) -> StaffPart:
        """What only staff see of the order (internal notes, rejected signals, alerts)."""
        part: StaffPart = await handle.query(STAFF_PART_QUERY, result_type=StaffPart, rpc_timeout=QUERY_TIMEOUT)
        return part

    async def rejections(self, handle: OrderHandle) -> list[str]:
        """The rejected signals listed in the staff part, each as ``<signal>: <refusal>: <detail>``."""
        part = await self.staff_part(handle)
        return [f"{r.signal}: {r.refusal}: {r.detail}" for r in part.rejected_signals]

    async def pay(self, handle: OrderHandle, billing_seq: int) -> OrderView:
        """The customer pays and the deposit accepts the charge."""
        await self.customer(handle, "pay_billing", PayBillingRequest(billing_seq=billing_seq))
        await self.answer_deposit(handle)
        return await self.view(handle)

    async def answer_deposit(self, handle: OrderHandle, *, reject_charges: bool = False) -> list[DepositEvent]:
        """Play the deposits service: answer every charge and refund command not answered yet."""
        order_id = handle.id.removeprefix("order-")
        answers: list[DepositEvent] = []
        for command in self.recorder.messages(order_id):
            if command.topic != DEPOSITS_COMMANDS or command.event_id in self.answered:
                continue
            self.answered.add(command.event_id)
            data = command.data
            if command.type == "deposit.refund_requested":
                answers.append(
                    ledger_answer(data, "deposit.refunded", amount=data["amount"], refund_key=data["idempotency_key"])
                )
            elif reject_charges:
                answers.append(
                    deposit_event(
                        order_id,
                        "deposit.charge_rejected",
                        billing_seq=data["billing_seq"],
                        revision=data["revision"],
                        shortfall=data["amount"],
                    )
                )
            else:
                answers.append(
                    ledger_answer(
                        data,
                        "deposit.charged",
                        billing_seq=data["billing_seq"],
                        revision=data["revision"],
                        amount=data["amount"],
                    )
                )
        for answer in answers:
            await self.deliver(handle, answer)
        return answers

    async def deliver(self, handle: OrderHandle, answer: Any, *, timeout: float = 10.0) -> None:
        """Send a deposit answer and wait until a workflow task has run after it.

        The workflow checks a money fact's signature in a local activity before
        applying it; a query sent right after the signal could still see the
        order as it was. Once a workflow task completes after the signal, the
        answer has been applied, refused or ignored, and a query sees which.
        """
        await handle.signal("deposit_event", answer)
        self.delivered.append(answer)
        async with asyncio.timeout(timeout):
            while not await _task_ran_after_last_signal(handle):
                await asyncio.sleep(0.02)

    async def until_event(self, handle: OrderHandle, event_type: str, *, timeout: float = 10.0) -> OutgoingMessage:
        """Wait (real time) until the order has recorded a message of this type; the latest one."""
        order_id = handle.id.removeprefix("order-")
        async with asyncio.timeout(timeout):
            while not (found := self.recorder.messages(order_id, event_type)):
                await asyncio.sleep(0.02)
        return found[-1]

    async def result(self, handle: OrderHandle) -> OrderView:
        """Let time run (time skipping) until the order's workflow ends."""
        return await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT)

    async def now(self) -> datetime:
        """The server's clock (a query's ``workflow.now()`` is stale after a skip)."""
        assert self.env is not None
        return await self.env.get_current_time()

    async def sleep(self, duration: timedelta) -> None:
        assert self.env is not None, "only a time-skipping shop can let days pass"
        await self.env.sleep(duration)


ESTIMATE = EstimateRequest(domestic_shipping=800, service_fee=500)
"""For ``application()``'s items: 11,000 yen of items + 1,300 yen = 12,300 yen."""


def assert_about(moment: datetime | None, expected: datetime) -> None:
    """Timers fire on time, give or take the milliseconds a workflow task takes."""
    assert moment is not None
    assert abs(moment - expected) < timedelta(seconds=1), f"{moment} is not {expected}"


def refusal_of(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str | None:
    """The refusal type of a failed update, as the HTTP layer reads it."""
    cause = error.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type


async def _task_ran_after_last_signal(handle: OrderHandle) -> bool:
    """Of the order's newest run; a run with no signal yet took over from one that handled it before continuing."""
    kinds = [event.event_type for event in (await handle.fetch_history()).events]
    signals = [i for i, kind in enumerate(kinds) if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    return not signals or EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in kinds[signals[-1] :]


async def runs(client: Client, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, first to newest, following its continue-as-new chain."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = first_run_id
    while run_id:
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND and histories:
                break  # the newest run is being created: the server names it before it can be read
            raise
        histories.append(history)
        last = history.events[-1]
        continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
    return histories


def deposit_event(order_id: str, event_type: str, **fields: Any) -> DepositEvent:
    return DepositEvent(event_id=str(uuid.uuid4()), type=event_type, order_id=order_id, **fields)  # type: ignore[arg-type]


LEDGER_SIGNING_KEY = DepositsSettings().ledger_signing_key.get_secret_value()
LEDGER = LedgerVerifier(OrdersSettings().ledger_public_keys)
"""The local stack's ledger key pair: the tests answer as the deposits service would, signature included."""
_transfers = itertools.count(1)


def ledger_answer(command: dict[str, Any], event_type: AttestedType, **fields: Any) -> DepositEvent:
    """The deposits service's answer to a charge or refund command: a money fact signed by the ledger."""
    transfer_id = next(_transfers)
    attestation = attest(
        LEDGER_SIGNING_KEY,
        event_type,
        customer_id=command["customer_id"],
        order_id=command["order_id"],
        key=command["idempotency_key"],
        amount=fields["amount"],
        transfer_id=transfer_id,
    )
    return deposit_event(command["order_id"], event_type, transfer_id=transfer_id, attestation=attestation, **fields)


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace, search_attributes={name: kinds[kind] for name, kind in SEARCH_ATTRIBUTES}
        )
    )


@asynccontextmanager
async def time_skipping_shop() -> AsyncIterator[Shop]:
    """A fresh time-skipping server (~0.1 s to start) with search attributes and a worker."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(VENV_BIN / "temporal-test-server"), data_converter=pydantic_data_converter
    )
    async with env:
        await register_search_attributes(env.client)
        recorder = Recorder()
        task_queue = f"orders-{uuid.uuid4().hex[:8]}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[OrderWorkflow],
            activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
        ):
            yield Shop(client=env.client, recorder=recorder, task_queue=task_queue, env=env)
