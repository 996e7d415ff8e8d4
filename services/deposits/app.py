"""ASGI entry point of the deposits service: ``uvicorn services.deposits.app:app``."""

from __future__ import annotations

from fastapi import FastAPI

from daiko.db import make_engine, make_session_factory
from daiko.outbox import relay_task
from daiko.service import create_service_app
from services.deposits.db import Outbox
from services.deposits.settings import DepositsSettings, get_deposits_settings


def build_app(settings: DepositsSettings | None = None) -> FastAPI:
    settings = settings or get_deposits_settings()
    engine = make_engine(settings.database_url(settings.deposits_database))
    sessions = make_session_factory(engine)
    return create_service_app(
        name="deposits",
        settings=settings,
        engine=engine,
        routers=[],
        background={"outbox-relay": relay_task(settings.kafka_bootstrap, sessions, Outbox)},
        description="Deposits: balance, pay-in reports, PayPal, withdrawals, charges and refunds for orders.",
    )


app = build_app()
