"""ASGI entry point of the messaging service: ``uvicorn services.messaging.app:app``.

Background tasks: the outbox relay (``message.posted``), the order-events
consumer (system notices, order ownership/status, settling pending messages)
and the sweep that rejects pending messages whose order never appeared.
"""

from __future__ import annotations

from fastapi import FastAPI

from daiko.consumer import consumer_task
from daiko.db import make_engine, make_session_factory
from daiko.events import MESSAGING_EVENTS, ORDERS_EVENTS
from daiko.kafka import service_connection
from daiko.live import LiveFeed
from daiko.outbox import relay_task
from daiko.problems import ProblemTable, ProblemType
from daiko.service import create_service_app
from services.messaging import api, staff_api
from services.messaging.db import DeadLetter, Outbox, ProcessedEvent
from services.messaging.deps import MessagingState
from services.messaging.events import order_event_check, order_event_handler, pending_sweep_task
from services.messaging.service import AttachmentGone, CustomerCapReached, MessageWindowClosed, OrderNotKnown
from services.messaging.settings import MessagingSettings
from services.messaging.storage import AttachmentStore, make_store

ORDER_RETRY_AFTER_SECONDS = 2

PROBLEMS: ProblemTable = {
    MessageWindowClosed: ProblemType(409, "Operation refused"),
    AttachmentGone: ProblemType(410, "Attachment gone"),
    # The upload window slides: look again in a minute.
    CustomerCapReached: ProblemType(429, "Too many requests", {"Retry-After": "60"}),
    # Right after applying, the order's first event may still be on its way to messaging: try again shortly.
    OrderNotKnown: ProblemType(404, "Not found", {"Retry-After": str(ORDER_RETRY_AFTER_SECONDS)}),
}
"""The messaging service's domain exceptions over HTTP (the plumbing's own are in ``daiko.problems``)."""


def build_app(settings: MessagingSettings | None = None, store: AttachmentStore | None = None) -> FastAPI:
    settings = settings or MessagingSettings()
    store = store or make_store(settings)
    engine = make_engine(settings.own_database_url)
    sessions = make_session_factory(engine)
    kafka = service_connection(settings)  # every client of this process authenticates as messaging

    async def close_store(_: FastAPI) -> None:
        await store.close()

    return create_service_app(
        name="messaging",
        settings=settings,
        engine=engine,
        routers=[api.router, staff_api.router],
        state=MessagingState(settings=settings, sessions=sessions, store=store),
        problems=PROBLEMS,
        background={
            "outbox-relay": relay_task(
                kafka,
                sessions,
                Outbox,
                poll_interval=settings.outbox_poll_interval_seconds,
                listen=settings.outbox_listen,
            ),
            "order-events": consumer_task(
                name=settings.order_events_group,
                connection=kafka,
                topics=(ORDERS_EVENTS,),
                session_factory=sessions,
                processed_model=ProcessedEvent,
                dead_letter_model=DeadLetter,
                handler=order_event_handler(settings, store),
                check=order_event_check,
            ),
            "pending-sweep": pending_sweep_task(sessions, store, settings),
        },
        on_shutdown=close_store,
        description=(
            "Messages about each order: customer and staff messages, photos, system notices from order events, "
            "and the 90-day rule (R3)."
        ),
        live=LiveFeed(MESSAGING_EVENTS),
    )


app = build_app()
