"""Connecting to Temporal and starting orders, the same way everywhere.

Every client of order workflows must use the pydantic data converter: the
default converter cannot round-trip the order models.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from daiko import tracing
from daiko.settings import DaikoSettings
from workflows import workflow_id
from workflows.models import OrderApplication, OrderStatus, OrderView
from workflows.order_workflow import OrderWorkflow
from workflows.search_attributes import initial_attributes


def tls_config(settings: DaikoSettings) -> TLSConfig | bool:
    """TLS to the frontend as the settings say: off locally; with a client certificate for mTLS (Temporal Cloud)."""
    if not settings.temporal_uses_tls:
        return False
    return TLSConfig(
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes() if settings.temporal_tls_key else None,
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: DaikoSettings, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker's, which exports the SDK's metrics; the SDK's default runtime otherwise.

    With Temporal's tracing interceptor when this process traces (a worker on the client traces too).
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls_config(settings),
        runtime=runtime,
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
