"""ASGI entry point of the orders service: ``uvicorn services.orders.app:app``."""

from __future__ import annotations

from fastapi import FastAPI

from daiko.db import make_engine, make_session_factory
from daiko.outbox import relay_task
from daiko.service import create_service_app
from services.orders.db import Outbox
from services.orders.settings import OrdersSettings, get_orders_settings


def build_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or get_orders_settings()
    engine = make_engine(settings.database_url(settings.orders_database))
    sessions = make_session_factory(engine)
    return create_service_app(
        name="orders",
        settings=settings,
        engine=engine,
        routers=[],
        background={"outbox-relay": relay_task(settings.kafka_bootstrap, sessions, Outbox)},
        description="Orders of the purchase and forward services: apply, pay, cancel, report reception.",
    )


app = build_app()
