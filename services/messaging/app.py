"""ASGI entry point of the messaging service: ``uvicorn services.messaging.app:app``."""

from __future__ import annotations

from fastapi import FastAPI

from daiko.db import make_engine, make_session_factory
from daiko.outbox import relay_task
from daiko.service import create_service_app
from services.messaging.db import Outbox
from services.messaging.settings import MessagingSettings, get_messaging_settings


def build_app(settings: MessagingSettings | None = None) -> FastAPI:
    settings = settings or get_messaging_settings()
    engine = make_engine(settings.database_url(settings.messaging_database))
    sessions = make_session_factory(engine)
    return create_service_app(
        name="messaging",
        settings=settings,
        engine=engine,
        routers=[],
        background={"outbox-relay": relay_task(settings.kafka_bootstrap, sessions, Outbox)},
        description="Messages about each order: customer and staff messages, photos, system notices.",
    )


app = build_app()
