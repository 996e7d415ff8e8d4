"""ASGI entry point of the deposits service: ``uvicorn services.deposits.app:app``."""

from __future__ import annotations

from fastapi import FastAPI

from daiko.consumer import consumer_task
from daiko.db import make_engine, make_session_factory
from daiko.outbox import relay_task
from daiko.service import BackgroundTask, create_service_app
from services.deposits import api, staff_api
from services.deposits.db import DeadLetter, Outbox, ProcessedEvent
from services.deposits.deps import DepositsState, install_error_handlers
from services.deposits.events import handle_command
from services.deposits.paypal import PayPalClient
from services.deposits.settings import DepositsSettings

DESCRIPTION = """\
Each customer's deposit as a double-entry ledger in integer yen (R9 in docs/rules.md).

* Pay-in by bank transfer (payment report, credited when staff confirm) and by card through PayPal.
* Withdrawal requests: the amount is held at once; staff pay it out or release it.
* Charges and refunds for orders arrive on `daiko.deposits.commands.v1` and are answered on
  `daiko.deposits.events.v1`.

A deposit never goes below zero. Every error is RFC 9457 problem JSON. POSTs that move money honour an
`Idempotency-Key` header.
"""


async def _close_paypal(app: FastAPI) -> None:
    await app.state.deposits.paypal.aclose()


def build_app(settings: DepositsSettings | None = None) -> FastAPI:
    settings = settings or DepositsSettings()
    engine = make_engine(settings.own_database_url)
    sessions = make_session_factory(engine)
    background: dict[str, BackgroundTask] = {
        "outbox-relay": relay_task(
            settings.kafka_bootstrap, sessions, Outbox, poll_interval=settings.outbox_poll_interval_seconds
        ),
    }
    if settings.deposits_consume_commands:
        background["commands-consumer"] = consumer_task(
            name=settings.deposits_commands_group,
            bootstrap=settings.kafka_bootstrap,
            topics=(settings.deposits_commands_topic,),
            session_factory=sessions,
            processed_model=ProcessedEvent,
            dead_letter_model=DeadLetter,
            handler=handle_command,
        )
    app = create_service_app(
        name="deposits",
        settings=settings,
        engine=engine,
        routers=[api.router, staff_api.router],
        background=background,
        on_shutdown=_close_paypal,
        description=DESCRIPTION,
    )
    install_error_handlers(app)
    app.state.deposits = DepositsState(
        settings=settings,
        sessions=sessions,
        paypal=PayPalClient(
            settings.paypal_base_url,
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            timeout=settings.paypal_timeout_seconds,
        ),
    )
    return app


app = build_app()
