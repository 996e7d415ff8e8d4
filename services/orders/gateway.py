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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from daiko.problems import RETRY_AFTER_SECONDS, Problem, invalid_request
from services.orders.domain import OrderRefused, refusal_error
from services.orders.settings import OrdersSettings
from workflows import VIEW_QUERY, workflow_id
from workflows.client import connect, start_order
from workflows.models import OrderApplication, OrderView

log = logging.getLogger(__name__)


class OrderGone(Exception):
    """The order's workflow does not exist (never started) or has already ended."""


def temporal_unavailable(detail: str) -> Problem:
    return Problem(
        503,
        "Order engine unavailable",
        detail,
        code="temporal-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )


BUSY_RETRY_AFTER_SECONDS = 1


def order_busy(order_id: str) -> Problem:
    """Other operations on this order are in flight (Temporal caps an execution's concurrent updates).

    A 409, not a 503: nothing is down, this one order is busy, and the client
    should look again in a moment (the first of the concurrent operations wins).
    """
    return Problem(
        409,
        "Order busy",
        f"other operations on order {order_id} are in progress; retry after {BUSY_RETRY_AFTER_SECONDS} s",
        code="order-busy",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        retry_after_seconds=BUSY_RETRY_AFTER_SECONDS,
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
                raise invalid_request(exc.message) from exc
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
        except Problem as problem:  # contention on one order is the order's answer, not an outage
            if await self._contended(handle, problem.__cause__):
                raise order_busy(order_id) from problem.__cause__
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
