"""The order worker: ``python -m services.orders.worker``; runs until SIGTERM or SIGINT.

It runs ``OrderWorkflow`` (pure rules, no I/O) and this service's
``record_transition`` activity, which writes the orders database: the workflow
package knows the activity only by name, so it never imports a service. Stopping is
graceful: the worker finishes the tasks it holds; Temporal hands the rest to
another worker, and the orders simply continue there.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from daiko import tracing
from daiko.db import make_engine, make_session_factory
from daiko.logs import configure_logging
from daiko.metrics import serve_process_metrics, temporal_runtime
from services.orders.activities import LedgerVerifier, OrderActivities
from services.orders.settings import OrdersSettings
from workflows.client import connect
from workflows.order_workflow import OrderWorkflow
from workflows.trace_context import CallerContext

log = logging.getLogger("services.orders.worker")
WORKER_SERVICE = "orders-worker"  # its name on log lines and in traces
SHUTDOWN_GRACE = timedelta(seconds=10)  # lets a running record_transition commit instead of being retried
SANDBOX = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))
"""The sandbox without re-running the workflow package for every order it loads (docs/operations.md, "Worker
tuning"): re-importing ``workflows.order_workflow`` per new or evicted order was a fifth of the worker's CPU
while orders were created. The package's own module globals are constants; the rule tests
(``tests/workflows``) run the same workflow in the full sandbox, which catches a non-deterministic call."""


async def run_worker(settings: OrdersSettings, stop: asyncio.Event) -> None:
    # The SDK's metrics (task latencies, schedule-to-start, slots) from its native runtime, and this
    # process's own registry, each on a port of its own for Prometheus.
    runtime = temporal_runtime(f"{settings.metrics_host}:{settings.temporal_sdk_metrics_port}", "orders")
    serve_process_metrics(settings.metrics_host, settings.worker_metrics_port)
    client = await connect(settings, runtime)
    engine = make_engine(settings.own_database_url)
    tracing.instrument_engine(engine)
    activities = OrderActivities(make_session_factory(engine))
    ledger = LedgerVerifier(settings.ledger_public_keys)
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[OrderWorkflow],
        workflow_runner=SANDBOX,
        max_concurrent_workflow_tasks=settings.worker_workflow_task_slots,
        activities=[activities.record_transition, ledger.verify_ledger_attestation],
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        interceptors=[CallerContext()],  # each transition carries its cause's trace (workflows/trace_context.py)
    )
    try:
        async with worker:
            log.info("order worker polling", extra={"task_queue": settings.temporal_task_queue})
            await stop.wait()
            log.info("order worker stopping")
    finally:
        await engine.dispose()


def main() -> None:
    settings = OrdersSettings()
    configure_logging(settings.log_level, service=WORKER_SERVICE)
    tracing.configure_tracing(settings, WORKER_SERVICE)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
