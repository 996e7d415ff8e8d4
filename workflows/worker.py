"""The order worker: ``python -m workflows.worker``; runs until SIGTERM or SIGINT.

It runs ``OrderWorkflow`` and the ``record_transition`` activity, which writes
to the orders database (``DaikoSettings().orders_database``). Stopping is
graceful: the worker finishes the tasks it holds; Temporal hands the rest to
another worker, and the orders simply continue there.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.worker import Worker

from daiko.db import make_engine, make_session_factory
from daiko.logs import configure_logging
from daiko.settings import DaikoSettings
from workflows.activities import OrderActivities
from workflows.client import connect
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger("workflows.worker")
SHUTDOWN_GRACE = timedelta(seconds=10)  # lets a running record_transition commit instead of being retried


async def run_worker(settings: DaikoSettings, stop: asyncio.Event) -> None:
    client = await connect(settings)
    engine = make_engine(settings.database_url(settings.orders_database))
    activities = OrderActivities(make_session_factory(engine))
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[OrderWorkflow],
        activities=[activities.record_transition],
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
    )
    try:
        async with worker:
            log.info("order worker polling", extra={"task_queue": settings.temporal_task_queue})
            await stop.wait()
            log.info("order worker stopping")
    finally:
        await engine.dispose()


def main() -> None:
    settings = DaikoSettings()
    configure_logging(settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
