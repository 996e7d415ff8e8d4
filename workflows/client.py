"""Connecting to Temporal and starting orders, the same way everywhere.

Every client of order workflows must use the pydantic data converter: the
default converter cannot round-trip the order models.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from daiko import tracing
from daiko.settings import DaikoSettings
from workflows import workflow_id
from workflows.models import OrderApplication, OrderStatus, OrderView
from workflows.order_workflow import OrderWorkflow
from workflows.search_attributes import initial_attributes


async def connect(settings: DaikoSettings) -> Client:
    """A client with Temporal's tracing interceptor when this process traces (a worker on it traces too)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=tracing.temporal_interceptors(),
    )


async def start_order(
    client: Client, application: OrderApplication, *, task_queue: str
) -> WorkflowHandle[OrderWorkflow, OrderView]:
    """Start an order's workflow; raises ``WorkflowAlreadyStartedError`` if it was ever started.

    An order id is used once: neither a running nor an ended order with the same
    id can be started again.
    """
    return await client.start_workflow(
        OrderWorkflow.run,
        application,
        id=workflow_id(application.order_id),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=initial_attributes(
            application.customer_id, OrderStatus.APPLIED.value, application.service_type.value
        ),
    )
