"""ASGI entry point of the deposits service: ``uvicorn services.deposits.app:app``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from daiko.consumer import consumer_task
from daiko.db import make_engine, make_session_factory
from daiko.kafka import service_connection
from daiko.outbox import relay_task
from daiko.problems import ProblemTable, ProblemType
from daiko.service import BackgroundTask, create_service_app
from services.deposits import api, staff_api
from services.deposits.db import DeadLetter, Outbox, ProcessedEvent
from services.deposits.deps import DepositsState
from services.deposits.domain import (
    CardDeclined,
    DepositRuleError,
    NoteRequired,
    PayPalOrderNotApproved,
    PayPalOrderTaken,
    PayPalRefused,
)
from services.deposits.events import DEPOSITS_LIVE, command_batch_handler, command_handler, command_type_known
from services.deposits.ledger.domain import InsufficientFunds, LedgerError, PendingAlreadyResolved
from services.deposits.paypal.client import PayPalClient
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


PROBLEMS: ProblemTable = {
    DepositRuleError: ProblemType(409, "Operation refused"),
    NoteRequired: ProblemType(422, "Operation refused"),
    LedgerError: ProblemType(422, "Ledger refused the transfer"),
    PendingAlreadyResolved: ProblemType(409, "Ledger refused the transfer"),
    InsufficientFunds: ProblemType(409, "Insufficient deposit"),
    CardDeclined: ProblemType(402, "Card declined"),
    PayPalOrderNotApproved: ProblemType(409, "Not approved yet"),
    PayPalOrderTaken: ProblemType(409, "PayPal order belongs to someone else"),
    PayPalRefused: ProblemType(502, "PayPal refused the call"),
    # Two requests raced on a unique row (a key, an id): nothing was written; a retry is answered properly.
    IntegrityError: ProblemType(
        409, "Concurrent update", code="retry", detail="a concurrent request changed the same record; retry"
    ),
}
"""The deposits service's domain exceptions over HTTP (the plumbing's own are in ``daiko.problems``)."""


def build_app(settings: DepositsSettings | None = None) -> FastAPI:
    settings = settings or DepositsSettings()
    engine = make_engine(settings.own_database_url)
    sessions = make_session_factory(engine)
    kafka = service_connection(settings)  # every client of this process authenticates as deposits
    background: dict[str, BackgroundTask] = {
        "outbox-relay": relay_task(
            kafka, sessions, Outbox, poll_interval=settings.outbox_poll_interval_seconds, listen=settings.outbox_listen
        ),
    }
    if settings.deposits_consume_commands:
        background["commands-consumer"] = consumer_task(
            name=settings.deposits_commands_group,
            connection=kafka,
            topics=(settings.deposits_commands_topic,),
            session_factory=sessions,
            processed_model=ProcessedEvent,
            dead_letter_model=DeadLetter,
            handler=command_handler(settings.ledger_signing_key.get_secret_value()),
            check=command_type_known,
            batch=True,  # a charge's effects are all in this database: one transaction per partition batch
            batch_handler=command_batch_handler(settings.ledger_signing_key.get_secret_value()),
        )
    state = DepositsState(
        settings=settings,
        sessions=sessions,
        paypal=PayPalClient(
            settings.paypal_base_url,
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            timeout=settings.paypal_timeout_seconds,
        ),
    )

    async def close_paypal(_: FastAPI) -> None:
        await state.paypal.aclose()

    return create_service_app(
        name="deposits",
        settings=settings,
        engine=engine,
        routers=[api.router, staff_api.router],
        state=state,
        problems=PROBLEMS,
        background=background,
        on_shutdown=close_paypal,
        description=DESCRIPTION,
        live=DEPOSITS_LIVE,
    )


app = build_app()
