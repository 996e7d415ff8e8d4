"""The commands consumer: order workflow → ``daiko.deposits.commands.v1`` → charges and refunds.

Runs inside :func:`daiko.consumer.apply_once`, so the command's id is recorded
in the same transaction as its transfer and its answer event: a redelivered
command changes nothing. Commands are read with their contract
(``contracts.deposits``). A type the contract does not know is dead-lettered by
the consumer (:func:`command_type_known`); a known command whose data breaks the
contract (missing fields, a non-integer amount) is answered with an
``invalid-command`` rejection rather than parked, so the order's workflow hears
back and the partition keeps moving.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ContractViolation
from contracts.deposits import ChargeRejected, ChargeRequested, RefundRejected, RefundRequested
from contracts.ids import CustomerId
from daiko import tracing
from daiko.consumer import BatchEffect, Handler
from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.live import LiveFeed
from services.deposits.ledger.repository import deposit_of
from services.deposits.messages import COMMANDS, balances, emit
from services.deposits.service import charge, charges, refund

DEPOSITS_LIVE = LiveFeed(
    DEPOSITS_EVENTS,
    # A refund the ledger could not post is staff's to look at; the customer hears of the refund when it is made.
    staff_only_types=frozenset({RefundRejected.type}),
    # The ledger's signature is for the order's workflow to verify, not for the customer's screen.
    staff_only_fields=frozenset({"attestation"}),
)
"""The deposit's live stream (``GET /v1/live``, :mod:`daiko.live`): what of the topic a customer sees."""

log = logging.getLogger(__name__)

_CUSTOMER_ID = TypeAdapter(CustomerId)


def command_type_known(envelope: Envelope) -> None:
    """The consumer's contract check: an unknown command type is parked with the reason, never guessed at."""
    COMMANDS.model_of(envelope.type)


def command_handler(signing_key: str) -> Handler:
    """The consumer's handler; ``signing_key`` is the ledger's, which signs every charge and refund answer."""

    async def handle(session: AsyncSession, event: Envelope) -> None:
        await handle_command(session, event, signing_key=signing_key)

    return handle


def command_batch_handler(signing_key: str) -> BatchEffect:
    """The consumer's handler of a partition batch (one transaction): its charges posted together.

    Consecutive charge commands go to the ledger at once (:func:`services.deposits.service.charges`);
    anything else - a refund, an invalid command - runs as :func:`handle_command` in its place,
    after the charges before it, so every command is decided on what the ones before it left.
    """

    async def handle(session: AsyncSession, events: list[Envelope]) -> None:
        run: list[tuple[Envelope, ChargeRequested]] = []

        async def charge_run() -> None:
            if not run:
                return
            with tracing.tracer().start_as_current_span(
                f"ledger {ChargeRequested.type} x{len(run)}",
                attributes={"daiko.order_ids": [command.order_id for _, command in run]},
            ):
                await charges(session=session, commands=[command for _, command in run], signing_key=signing_key)
            run.clear()

        for event in events:
            try:
                command = COMMANDS.parse(event.type, event.data)
            except ContractViolation:
                command = None  # handle_command answers or raises, as for a single command
            if isinstance(command, ChargeRequested):
                run.append((event, command))
                continue
            await charge_run()
            await handle_command(session, event, signing_key=signing_key)
        await charge_run()

    return handle


async def handle_command(session: AsyncSession, event: Envelope, *, signing_key: str) -> None:
    try:
        command = COMMANDS.parse(event.type, event.data)
    except ContractViolation as violation:
        if not isinstance(violation.__cause__, ValidationError):
            raise  # an unknown type: the consumer parks it
        await _refuse_invalid(session, event, violation.__cause__)
        return
    if not isinstance(command, ChargeRequested | RefundRequested):
        return
    # The ledger's own span in the payment's trace, inside the consumer's: what the money movement cost.
    with tracing.tracer().start_as_current_span(
        f"ledger {event.type}", attributes={"daiko.order_id": command.order_id}
    ):
        if isinstance(command, ChargeRequested):
            await charge(session=session, command=command, signing_key=signing_key)
        else:
            await refund(session=session, command=command, signing_key=signing_key)


def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation)


_ECHOED = ("order_id", "billing_seq", "revision", "amount", "idempotency_key", "reason")
_ECHO_FIELDS = {
    answer: {name: _field_adapter(answer, name) for name in _ECHOED if name in answer.model_fields}
    for answer in (ChargeRejected, RefundRejected)
}


def _valid_echo(answer: type[ChargeRejected | RefundRejected], data: dict[str, Any]) -> dict[str, Any]:
    """The command's fields the answer may repeat: only those its contract accepts, so a reader can parse it."""
    echo: dict[str, Any] = {}
    for name, adapter in _ECHO_FIELDS[answer].items():
        if data.get(name) is None:
            continue
        try:
            adapter.validate_python(data[name])
        except ValidationError:
            continue
        echo[name] = data[name]
    return echo


async def _refuse_invalid(session: AsyncSession, event: Envelope, exc: ValidationError) -> None:
    try:
        customer_id = _CUSTOMER_ID.validate_python(event.data.get("customer_id"))
    except ValidationError:
        customer_id = event.subject
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    log.error("invalid command refused", extra={"type": event.type, "event_id": event.id, "errors": problems})
    answer = ChargeRejected if event.type == ChargeRequested.type else RefundRejected
    emit(
        session,
        answer(
            customer_id=customer_id,
            **_valid_echo(answer, event.data),
            rejection="invalid-command",
            errors=problems,
            command_id=event.id,
            shortfall=0,
            **balances(await deposit_of(session, customer_id)),
        ),
    )
