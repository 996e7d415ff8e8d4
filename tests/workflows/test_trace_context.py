"""Each transition an order records carries the trace of what caused it (workflows/trace_context.py).

Temporal's tracing interceptor runs handlers in the trace of the workflow's
start; the workflow instead hands the caller's own context to the activity, so
the payment's request and the ledger's answer each stay in their own trace.
Time-skipping server, the worker's real interceptors, the SDK's real spans.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from daiko import tracing
from tests.spans import collected_spans
from tests.workflows.order_harness import (
    ESTIMATE,
    LEDGER,
    VENV_BIN,
    Recorder,
    Shop,
    application,
    register_search_attributes,
)
from workflows.models import OrderTransition, PayBillingRequest
from workflows.order_workflow import OrderWorkflow
from workflows.trace_context import CallerContext


@pytest.fixture
async def traced_shop() -> AsyncIterator[Shop]:
    """A time-skipping shop whose client and worker trace as the orders service's and the worker's do."""
    collected_spans()  # the SDK, so that spans have ids to propagate
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(VENV_BIN / "temporal-test-server"), data_converter=pydantic_data_converter
    )
    async with env:
        await register_search_attributes(env.client)
        config = env.client.config()
        config["interceptors"] = [TracingInterceptor()]
        client = Client(**config)
        recorder = Recorder()
        task_queue = f"traced-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[OrderWorkflow],
            activities=[recorder.record_transition, LEDGER.verify_ledger_attestation],
            interceptors=[CallerContext()],
        ):
            yield Shop(client=client, recorder=recorder, task_queue=task_queue, env=env)


def _trace_id(transition: OrderTransition) -> str | None:
    traceparent = transition.trace_context.get("traceparent")
    return traceparent.split("-")[1] if traceparent else None


def _with_message(transitions: list[OrderTransition], message_type: str) -> OrderTransition:
    [transition] = [t for t in transitions if any(m.type == message_type for m in t.messages)]
    return transition


async def test_the_payment_and_the_ledgers_answer_each_record_their_transition_in_their_own_trace(
    traced_shop: Shop,
) -> None:
    shop = traced_shop
    app = application()
    collected_spans().clear()
    handle = await shop.apply(app)
    await shop.staff(handle, "estimate", ESTIMATE)

    with tracing.tracer().start_as_current_span("customer pays") as paying:
        await shop.customer(handle, "pay_billing", PayBillingRequest(billing_seq=1))
    with tracing.tracer().start_as_current_span("ledger answers") as answering:
        await shop.answer_deposit(handle)
    await shop.until_event(handle, "order.paid")

    transitions = shop.recorder.of(app.order_id)
    payment_trace = format(paying.get_span_context().trace_id, "032x")
    answer_trace = format(answering.get_span_context().trace_id, "032x")
    assert _trace_id(_with_message(transitions, "deposit.charge_requested")) == payment_trace
    assert _trace_id(_with_message(transitions, "order.paid")) == answer_trace
    # The application is its own trace: the client's StartWorkflow span, which the start's header names.
    [started] = [s for s in collected_spans().get_finished_spans() if s.name.startswith("StartWorkflow:")]
    start_trace = format(started.context.trace_id, "032x") if started.context else None
    assert _trace_id(_with_message(transitions, "order.applied")) == start_trace
    assert start_trace not in (payment_trace, answer_trace)
