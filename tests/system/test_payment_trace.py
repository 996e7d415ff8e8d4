"""One customer payment is one trace, seen in the stack's real Jaeger (docs/operations.md, "Traces and logs").

The customer's client starts the trace itself (a W3C ``traceparent`` on its
``POST /payments``, as a traced frontend would), so the test knows which trace
to ask Jaeger for. Everything after that is the system's own propagation: the
orders API, Temporal's interceptor and the workflow's transition, the orders
outbox and its relay, Kafka headers, the deposits ledger, the deposits outbox,
the orders bridge and its signal, the paid transition, and the messaging
notice. The orders service's log line for the request names the same trace
and the order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from daiko.events import DEPOSITS_COMMANDS, DEPOSITS_EVENTS, ORDERS_EVENTS
from daiko.settings import DaikoSettings
from tests.system.portal import Json, Portal, billing, notice_types, purchase_application

pytestmark = pytest.mark.stack

TRACE_PATIENCE = 90.0  # seconds for every process's batch of spans to reach Jaeger


def jaeger_api(settings: DaikoSettings) -> str:
    return f"http://127.0.0.1:{settings.jaeger_ui_port}/api"


async def _trace(settings: DaikoSettings, trace_id: str, *, complete: Callable[[Json], bool]) -> Json:
    """The trace as Jaeger's query API gives it, once ``complete`` holds for it (spans arrive in batches)."""
    deadline = time.monotonic() + TRACE_PATIENCE
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            response = await client.get(f"{jaeger_api(settings)}/traces/{trace_id}")
            if response.status_code == 200:
                [found] = response.json()["data"]
                if complete(found):
                    trace: Json = found
                    return trace
            if time.monotonic() > deadline:
                seen = sorted(_spans(found)) if response.status_code == 200 else response.text[:300]
                raise AssertionError(f"trace {trace_id} incomplete after {TRACE_PATIENCE:.0f}s: {seen}")
            await asyncio.sleep(1.0)


def _spans(trace: Json) -> Counter[tuple[str, str]]:
    """(service, operation) of every span in a Jaeger trace, counted."""
    services = {key: process["serviceName"] for key, process in trace["processes"].items()}
    return Counter((services[span["processID"]], span["operationName"]) for span in trace["spans"])


EXPECTED = {
    ("orders", "POST /v1/orders/{order_id}/payments"),  # the customer's request
    ("orders", "StartWorkflowUpdate:pay_billing"),  # Temporal's interceptor on the orders gateway
    ("orders", f"send {DEPOSITS_COMMANDS}"),  # the orders outbox relay: the charge command
    ("deposits", f"deposits-commands process {DEPOSITS_COMMANDS}"),  # the deposits consumer
    ("deposits", "ledger deposit.charge_requested"),  # the ledger transaction
    ("orders", f"orders-deposit-bridge process {DEPOSITS_EVENTS}"),  # the orders bridge
    ("orders", "SignalWorkflow:deposit_event"),  # its signal to the order's workflow
    ("orders", f"send {ORDERS_EVENTS}"),  # the paid transition's event
    ("messaging", f"messaging-order-events process {ORDERS_EVENTS}"),  # the notice
}

ANSWER_RELAYED = f"send {DEPOSITS_EVENTS}"
"""The deposits outbox relay sending the charge answer. Any process may: the stack's deposits process,
or the deposits app some deposits tests serve in the test process (both relay the same outbox, safely),
whose spans carry the test process's service name."""


async def test_one_payment_is_one_trace_from_the_request_to_the_ledger_and_back_to_the_notice(
    portal: Portal, system: DaikoSettings
) -> None:
    if not system.tracing:
        pytest.skip("tracing is off (DAIKO_TRACING=false): the stack runs no Jaeger")
    alex = portal.customer("traced")
    await alex.fund(10_000)
    order_id = await alex.apply(purchase_application("two_time"))
    view = await portal.staff_op(
        order_id, "estimate", {"domestic_shipping": 800, "service_fee": 500}, done=lambda v: v["billings"] != []
    )
    bill = billing(view, 1)

    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    # The test process may have instrumented httpx (any service app imported in-process configures
    # tracing): its client span would replace this traceparent with a trace of its own.
    with suppress_http_instrumentation():
        response = await portal.attempt(
            "orders",
            "POST",
            f"/v1/orders/{order_id}/payments",
            json={"billing_seq": 1, "revision": bill["revision"]},
            headers={**alex.auth, "traceparent": f"00-{trace_id}-{parent_id}-01"},
        )
    assert response is not None and response.status_code == 202, response and response.text
    await portal.wait_for(order_id, lambda v: billing(v, 1)["status"] == "paid", "payment")
    await alex.notices_when(order_id, lambda n: notice_types(n)["payment_received"] == 1, "payment notice")

    def orphans(trace: Json) -> list[str]:
        """Spans whose parent is not in the trace (nor the client's own span): none once every batch arrived."""
        ids = {span["spanID"] for span in trace["spans"]} | {parent_id}
        return [
            span["operationName"]
            for span in trace["spans"]
            for ref in span["references"]
            if ref["refType"] == "CHILD_OF" and ref["spanID"] not in ids
        ]

    def transitions(trace: Json) -> list[str]:
        """The worker's recorded transitions in the trace: the charge asked for, then paid."""
        return [op for (service, op) in _spans(trace) if service == "orders-worker" and op.startswith("record_")]

    trace = await _trace(
        system,
        trace_id,
        complete=lambda t: (
            set(_spans(t)) >= EXPECTED
            and any(op == ANSWER_RELAYED for _, op in _spans(t))
            and not orphans(t)
            and len(transitions(t)) >= 2
        ),
    )
    spans = _spans(trace)
    print(f"\npayment trace {trace_id}: {sum(spans.values())} spans from {sorted({s for s, _ in spans})}")

    request_lines = [
        line
        for line in _log_lines(system, "orders")
        if line.get("trace_id") == trace_id and line.get("logger") == "uvicorn.access"
    ]
    [access] = request_lines
    assert access["path"] == f"/v1/orders/{order_id}/payments" and access["status"] == 202
    assert (access["order_id"], access["customer_id"], access["service"]) == (order_id, alex.customer_id, "orders")


def _log_lines(settings: DaikoSettings, part: str) -> list[Json]:
    """The JSON lines of one part's log in the stack's state folder (other lines, e.g. a traceback's, skipped)."""
    lines = []
    for text in (settings.state_dir / "logs" / f"{part}.log").read_text(errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines
