"""The orders service's one door into Temporal: start orders, send them operations, read their view.

One client per process, connected lazily: the service starts (and serves its
read model) while Temporal is down, and each call that needs Temporal answers
503 until it is back. Every Temporal failure is translated here, once: a
refusal of the workflow into the service's domain exception, an outage into
the 503 problem that the deposit bridge and the consumer read as transient.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from daiko.errors import DomainError, InvalidInput, Unavailable
from services.orders.domain import OrderRefused, refusal_error
from services.orders.settings import OrdersSettings
from workflows import VIEW_QUERY, workflow_id
from workflows.client import connect, start_order
from workflows.models import OrderApplication, OrderView

log = logging.getLogger(__name__)


class OrderGone(Exception):
    """The order's workflow does not exist (never started) or has already ended."""


@dataclass(frozen=True)
class WorkflowEnding:
    """How the newest run of an order's workflow stands: ``cause`` None while it runs (or continues as new)."""

    order_id: str
    cause: str | None  # completed | terminated | failed | timed_out | canceled | missing | reset
    run_id: str | None = None
    ended_at: datetime | None = None


_ENDINGS = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
_QUOTABLE_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")  # order ids the visibility query can name without escaping


def temporal_unavailable(detail: str) -> Unavailable:
    """Temporal cannot answer now: a 503 with ``Retry-After`` over HTTP, a retry for the consumers."""
    return Unavailable(detail, code="temporal-unavailable", title="Order engine unavailable")


BUSY_RETRY_AFTER_SECONDS = 1


class OrderBusy(DomainError):
    """Other operations on this order are in flight (Temporal caps an execution's concurrent updates).

    A 409 with ``Retry-After``, not a 503: nothing is down, this one order is
    busy, and the client should look again in a moment (the first of the
    concurrent operations wins).
    """

    code = "order-busy"


def order_busy(order_id: str) -> OrderBusy:
    return OrderBusy(
        f"other operations on order {order_id} are in progress; retry after {BUSY_RETRY_AFTER_SECONDS} s",
        title="Order busy",
    )


class OrderWorkflows:
    """Starts and drives ``OrderWorkflow`` executions (workflow id ``order-<order id>``)."""

    def __init__(self, settings: OrdersSettings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()
        self._timeout = timedelta(seconds=settings.temporal_rpc_timeout_seconds)

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(
                            connect(self._settings), timeout=self._settings.temporal_rpc_timeout_seconds
                        )
                    except (RPCError, RuntimeError, OSError, TimeoutError) as exc:
                        raise temporal_unavailable(
                            f"cannot reach Temporal at {self._settings.temporal_address}"
                        ) from exc
        return self._client

    @asynccontextmanager
    async def _translated(self, order_id: str) -> AsyncIterator[None]:
        """Temporal's failures as problems; :class:`OrderGone` when the workflow is not running."""
        try:
            yield
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                raise refusal_error(cause.type, cause.message) from exc
            raise OrderRefused(str(cause)) from exc
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise OrderGone(order_id) from exc
            if exc.status is RPCStatusCode.INVALID_ARGUMENT:
                raise InvalidInput(exc.message) from exc
            log.warning("temporal call failed", extra={"order_id": order_id, "status": exc.status.name})
            raise temporal_unavailable(f"Temporal did not answer for order {order_id}: {exc.message}") from exc
        except (RPCTimeoutOrCancelledError, TimeoutError) as exc:
            raise temporal_unavailable(f"no answer for order {order_id} in time; is the worker running?") from exc

    async def start(self, application: OrderApplication) -> bool:
        """Start the order's workflow; False when it already exists (a replayed application)."""
        client = await self.client()
        try:
            async with self._translated(application.order_id):
                await asyncio.wait_for(
                    start_order(client, application, task_queue=self._settings.temporal_task_queue),
                    timeout=self._settings.temporal_rpc_timeout_seconds,
                )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def update(self, order_id: str, update: str, payload: BaseModel) -> OrderView | None:
        """Run an update (customer or staff operation) and return the order's view after it."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(order_id))
        try:
            async with self._translated(order_id):
                result: OrderView | None = await handle.execute_update(
                    update, payload, result_type=OrderView, rpc_timeout=self._timeout
                )
        except Unavailable as down:  # contention on one order is the order's answer, not an outage
            if await self._contended(handle, down.__cause__):
                raise order_busy(order_id) from down.__cause__
            raise
        return result

    async def _contended(self, handle: WorkflowHandle[Any, Any], cause: BaseException | None) -> bool:
        """Whether an update failed because other updates of the same order were in flight.

        Temporal answers RESOURCE_EXHAUSTED past an execution's cap on in-flight
        updates, and UNAVAILABLE ("workflow update was aborted") when concurrent
        updates make it reload the execution; UNAVAILABLE is also what an outage
        looks like, so that one counts as contention only if Temporal still
        describes the workflow at once.
        """
        if not isinstance(cause, RPCError):
            return False
        if cause.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            return True
        if cause.status is not RPCStatusCode.UNAVAILABLE:
            return False
        try:
            await handle.describe(rpc_timeout=timedelta(seconds=2))
        except (RPCError, RPCTimeoutOrCancelledError, TimeoutError):
            return False
        return True

    async def signal(self, order_id: str, signal: str, payload: BaseModel) -> None:
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(order_id))
        async with self._translated(order_id):
            await handle.signal(signal, payload, rpc_timeout=self._timeout)

    async def view(self, order_id: str) -> OrderView:
        """The workflow's own view: only for the moment before the read model has the order."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(order_id))
        try:
            async with self._translated(order_id):
                view: OrderView = await handle.query(VIEW_QUERY, result_type=OrderView, rpc_timeout=self._timeout)
                return view
        except (WorkflowQueryRejectedError, WorkflowQueryFailedError) as exc:
            raise temporal_unavailable(f"order {order_id} cannot be read from its workflow now") from exc

    async def ending(self, order_id: str) -> WorkflowEnding:
        """How the order's workflow stands, asked of its newest run (one order: the gateway's check)."""
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id(order_id))
        try:
            async with self._translated(order_id):
                described = await handle.describe(rpc_timeout=self._timeout)
        except OrderGone:
            await self._namespace_is_there()
            return WorkflowEnding(order_id, "missing")
        cause = _ENDINGS.get(described.status) if described.status else None
        return WorkflowEnding(order_id, cause, described.run_id, described.close_time)

    async def endings(self, projected: Mapping[str, str | None]) -> dict[str, WorkflowEnding]:
        """How each order's workflow stands, from one visibility query for the whole batch.

        ``projected`` maps each order id to the run that wrote its read model
        (None if unknown). Every run of each ``order-<id>`` is listed; the
        newest run (by start time) is the one that counts, so a workflow
        continued as new is judged by the run that carries it on. If the run
        the read model came from was terminated while a newer run goes on, the
        read model was *reset away* (cause ``reset``): the new run's lower
        versions can never replace it. An order with no run at all in
        visibility is asked of Temporal directly before it is called
        ``missing``: visibility may lag behind a start.
        """
        ids = [order_id for order_id in projected if _QUOTABLE_ID.match(order_id)]
        if not ids:
            return {}
        client = await self.client()
        query = "WorkflowId IN (" + ", ".join(f"'{workflow_id(order_id)}'" for order_id in ids) + ")"
        newest: dict[str, WorkflowEnding] = {}
        started: dict[str, datetime] = {}
        runs: dict[tuple[str, str], WorkflowEnding] = {}
        try:
            async with self._translated("(a batch)"):
                async for run in client.list_workflows(query, page_size=len(ids) * 2, rpc_timeout=self._timeout):
                    order_id = run.id.removeprefix("order-")
                    cause = _ENDINGS.get(run.status) if run.status else None
                    ending = WorkflowEnding(order_id, cause, run.run_id, run.close_time)
                    runs[order_id, run.run_id] = ending
                    if order_id not in started or run.start_time > started[order_id]:
                        started[order_id] = run.start_time
                        newest[order_id] = ending
        except OrderGone:  # no such namespace: a setting is wrong, which must never halt every order
            await self._namespace_is_there()
        for order_id in ids:
            if order_id not in newest:
                newest[order_id] = await self.ending(order_id)
                continue
            if newest[order_id].cause == "terminated":
                # Visibility may not list a reset's new run yet: ask Temporal itself which run is current.
                newest[order_id] = await self.ending(order_id)
            mine = runs.get((order_id, projected[order_id] or ""))
            if mine is not None and mine.cause == "terminated" and newest[order_id].run_id != mine.run_id:
                newest[order_id] = WorkflowEnding(order_id, "reset", mine.run_id, mine.ended_at)
        return newest

    async def _namespace_is_there(self) -> None:
        """Before calling a workflow missing: a wrong namespace answers NOT_FOUND for every order, halting none."""
        client = await self.client()
        namespace = self._settings.temporal_namespace
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace), timeout=self._timeout
            )
        except RPCError as exc:
            raise temporal_unavailable(f"Temporal namespace {namespace!r} cannot be described: {exc.message}") from exc
