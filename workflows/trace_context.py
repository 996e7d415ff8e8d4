"""The trace context of whoever caused what an order workflow is doing now, for the transition it records.

Temporal's ``TracingInterceptor`` (``daiko.tracing``) runs a signal or update
handler in the trace of the workflow's *start*, with the caller only as a
link, and the workflow's main loop runs every ``record_transition`` activity
in that same start trace. A payment would then be two traces: the customer's
request up to Temporal, and the order's creation from there on. The
:class:`CallerContext` interceptor keeps the caller's W3C context (the header
Temporal's interceptor wrote) for the handler that runs; the workflow puts it
on each :class:`~workflows.models.OrderTransition` it publishes
(:func:`caller`), and the activity continues it. Deterministic: the context
comes from the history (the start's, the signal's or the update's headers), so
a replay carries the same one.

The workflow imports this module through the sandbox (``imports_passed_through``):
the interceptor and the workflow must share the one context variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

TRACE_HEADER = "_tracer-data"
"""Where ``temporalio.contrib.opentelemetry.TracingInterceptor`` puts the caller's context in a call's headers."""

_caller: ContextVar[dict[str, str] | None] = ContextVar("daiko_workflow_caller_trace", default=None)


def caller() -> dict[str, str]:
    """The W3C context of the start, signal or update whose handler is running; empty without one."""
    return dict(_caller.get() or {})


def _remember(headers: Mapping[str, Payload]) -> None:
    """This handler's caller, or none (a call from the CLI or the Web UI carries no context)."""
    payload = headers.get(TRACE_HEADER)
    carrier: object = None
    if payload is not None:
        try:
            carrier = PayloadConverter.default.from_payloads([payload])[0]
        except Exception:  # a header someone else wrote: no context rather than a failed workflow task
            carrier = None
    _caller.set({str(key): str(value) for key, value in carrier.items()} if isinstance(carrier, dict) else None)


class _CallerInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        _remember(workflow.info().headers)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        _remember(input.headers)  # each handler runs in a task of its own: this sets only its context
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _remember(input.headers)
        return await super().handle_update_handler(input)


class CallerContext(Interceptor):
    """Worker interceptor: keeps each handler's caller context for :func:`caller`."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _CallerInbound
