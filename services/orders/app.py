"""ASGI entry point of the orders service: ``uvicorn services.orders.app:app``."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from daiko.db import make_engine, make_session_factory
from daiko.dev_sign_in import dev_sign_in_routers
from daiko.errors import Unavailable
from daiko.events import ORDERS_EVENTS
from daiko.kafka import service_connection
from daiko.live import LiveFeed
from daiko.outbox import relay_task
from daiko.problems import ProblemTable, ProblemType
from daiko.service import BackgroundTask, create_service_app
from services.orders.api import router as customer_router
from services.orders.db import Outbox
from services.orders.deps import OrdersState
from services.orders.details import OrderDetails
from services.orders.domain import NotACustomer, OrderRefused, RequestUnfitForOrder
from services.orders.events import DEPOSIT_BRIDGE, deposit_bridge_task
from services.orders.gateway import BUSY_RETRY_AFTER_SECONDS, OrderBusy, OrderWorkflows
from services.orders.halts.api import router as halted_router
from services.orders.halts.service import SettlementRefused
from services.orders.halts.sweep import HALT_SWEEP, halt_sweep_task
from services.orders.overdue import overdue_probe
from services.orders.reconciliation import reconciliation_task
from services.orders.settings import OrdersSettings
from services.orders.staff_api import reconciliation_router
from services.orders.staff_api import router as staff_router
from services.orders.thread_copy import THREAD_COPY, thread_copy_task

log = logging.getLogger(__name__)

DESCRIPTION = """\
Orders of the purchase and forward services: apply, follow the order on its
details page (R1), pay billings from the deposit, cancel before payment,
report reception; and the staff operations that move each order along.

Authenticate with `Authorization: Bearer <JWT>`; in development mint one with
`daiko token --customer cust-1` or `daiko token --staff`. Every error is an
RFC 9457 problem (`application/problem+json`); an operation the order refuses
at its current stage is a 409 whose `detail` says why.
"""

PROBLEMS: ProblemTable = {
    NotACustomer: ProblemType(403, "Forbidden"),
    OrderRefused: ProblemType(409, "Operation refused"),
    RequestUnfitForOrder: ProblemType(422, "Invalid request for this order"),
    OrderBusy: ProblemType(409, "Order busy", {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}),
    SettlementRefused: ProblemType(409, "Settlement refused"),
}
"""The orders service's domain exceptions over HTTP (the plumbing's own are in ``daiko.problems``)."""


def build_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    engine = make_engine(settings.own_database_url, pool_size=settings.database_pool_size)
    sessions = make_session_factory(engine)
    workflows = OrderWorkflows(settings)
    kafka = service_connection(settings)  # every client of this process authenticates as orders
    background: dict[str, BackgroundTask] = {
        "outbox-relay": relay_task(
            kafka, sessions, Outbox, poll_interval=settings.outbox_poll_interval_seconds, listen=settings.outbox_listen
        ),
    }
    if settings.deposit_bridge_enabled:
        background[DEPOSIT_BRIDGE] = deposit_bridge_task(
            connection=kafka,
            sessions=sessions,
            workflows=workflows,
            ledger_keys=settings.ledger_public_keys,
        )
        background["reconciliation"] = reconciliation_task(
            sessions,
            grace=timedelta(seconds=settings.reconciliation_grace_seconds),
            every=timedelta(seconds=settings.reconciliation_interval_seconds),
        )
    if settings.thread_copy_enabled:
        background[THREAD_COPY] = thread_copy_task(connection=kafka, sessions=sessions)
    if settings.halt_sweep_enabled:
        background[HALT_SWEEP] = halt_sweep_task(
            sessions=sessions,
            workflows=workflows,
            interval=settings.halt_sweep_interval,
            batch=settings.halt_sweep_batch,
        )

    state = OrdersState(
        settings=settings,
        sessions=sessions,
        reads=engine.execution_options(isolation_level="AUTOCOMMIT"),  # same pool
        workflows=workflows,
        details=OrderDetails.for_database(settings.own_database_url, pool_size=settings.details_pool_size),
    )

    async def on_shutdown(_: FastAPI) -> None:
        await state.details.close()

    async def on_startup(app: FastAPI) -> None:
        try:  # connect now if we can; if Temporal is down, calls answer 503 until it is back
            await workflows.client()
        except Unavailable:
            log.warning("Temporal is not reachable yet", extra={"address": settings.temporal_address})

    app = create_service_app(
        name="orders",
        settings=settings,
        engine=engine,
        routers=[customer_router, staff_router, reconciliation_router, halted_router, *dev_sign_in_routers(settings)],
        state=state,
        problems=PROBLEMS,
        background=background,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        description=DESCRIPTION,
        probes={"deadlines": overdue_probe(sessions, timedelta(seconds=settings.deadline_overdue_grace_seconds))},
        live=LiveFeed(ORDERS_EVENTS),
    )
    return app


app = build_app()
