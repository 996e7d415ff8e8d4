"""The bridge from the deposit's events to the orders' workflows.

The deposit answers charge and refund commands on ``daiko.deposits.events.v1``;
each answer that names an order becomes the workflow's ``deposit_event``
signal. The signal is sent inside the consumer's database transaction, before
the processed-event record commits: if the process dies in between, the event
is delivered again and signalled again, and the workflow ignores an event id
it has already seen. Nothing is lost and nothing is applied twice.

Answers for different orders on one partition (one customer's orders share it) are
applied side by side, each order's in the order they came (``concurrent_by=order_of``,
:meth:`daiko.consumer.IdempotentConsumer.apply_concurrently`): twenty payments at once no
longer queue behind each other's signal RPCs, and a workflow still sees its answers in order.

A halted order has no workflow to signal (services/orders/halts/service.py): its
answers are recorded in its read model instead, in the same transaction as
the processed-event record, so they too are applied exactly once.

Every deposit event is read with its contract (``contracts.deposits``) before
the handler sees it: an unknown type or data the contract refuses is parked in
``dead_letters`` with the reason, never guessed at. Every charge and refund
whose ledger signature verifies is also kept for reconciliation
(``services.orders.reconciliation``), in the same transaction.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.deposits import Charged, Refunded
from daiko.consumer import Handler, consumer_task
from daiko.errors import InvalidInput
from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.kafka import KafkaConnection
from daiko.service import BackgroundTask
from services.orders.db import DeadLetter, ProcessedEvent
from services.orders.domain import DEPOSITS, NotAnOrderEvent, deposit_event_for_order
from services.orders.gateway import OrderGone, OrderWorkflows
from services.orders.halts import service as halts
from services.orders.reconciliation import record_movement
from workflows import DEPOSIT_EVENT_SIGNAL
from workflows.models import DepositEvent

log = logging.getLogger(__name__)

DEPOSIT_BRIDGE = "orders-deposit-bridge"

signalled_total = Counter("daiko_orders_deposit_events_signalled_total", "Deposit events sent to orders", ["type"])
skipped_total = Counter(
    "daiko_orders_deposit_events_skipped_total", "Deposit events for orders that cannot take them", ["reason"]
)
forged_total = Counter(
    "daiko_orders_deposit_answers_unsigned_total", "Charges and refunds on Kafka whose ledger signature fails"
)


def deposit_event_check(envelope: Envelope) -> None:
    """The consumer's contract check: raises ``contracts.ContractViolation`` (a ``ValueError``) with the reason."""
    DEPOSITS.parse(envelope.type, envelope.data)


def deposit_bridge_handler(workflows: OrderWorkflows, ledger_keys: list[str]) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        answer = DEPOSITS.parse(envelope.type, envelope.data)
        signed = True  # a rejection moves no money and carries no signature
        if isinstance(answer, Charged | Refunded) and not (
            signed := await record_movement(session, answer, ledger_keys)
        ):
            forged_total.inc()
            log.error(  # still signalled: the workflow records the refusal in the order's staff history
                "deposit answer without a valid ledger signature",
                extra={"event_id": envelope.id, "type": envelope.type, "order_id": answer.order_id},
            )
        try:
            event = deposit_event_for_order(envelope)
        except NotAnOrderEvent as exc:  # names no billing: retrying cannot fix it, record it and move on
            skipped_total.labels("unreadable").inc()
            log.error("unreadable deposit event skipped", extra={"event_id": envelope.id, "error": str(exc)})
            return
        if event is None:
            return
        # A halted order has no workflow to check the signature: its read model takes only what the ledger signed.
        if signed and await halts.take_deposit_answer(session, event):
            signalled_total.labels(event.type).inc()
            return
        try:
            await workflows.signal(event.order_id, DEPOSIT_EVENT_SIGNAL, event)
        except OrderGone:  # the order ended (or never started): nobody is waiting for this answer
            if signed and await _halted_now(session, workflows, event):
                return
            skipped_total.labels("order_gone").inc()
            log.warning(
                "deposit event for an order that is not running; skipped",
                extra={"event_id": envelope.id, "type": envelope.type, "order_id": event.order_id},
            )
            return
        except InvalidInput as refused:  # Temporal refuses the signal itself; Unavailable propagates and is retried
            skipped_total.labels("refused").inc()
            log.error(
                "deposit event refused by Temporal; skipped",
                extra={"event_id": envelope.id, "order_id": event.order_id, "detail": refused.detail},
            )
            return
        signalled_total.labels(event.type).inc()
        log.info(
            "deposit event signalled",
            extra={"event_id": envelope.id, "type": event.type, "order_id": event.order_id},
        )

    return handle


async def _halted_now(session: AsyncSession, workflows: OrderWorkflows, event: DepositEvent) -> bool:
    """An answer for an open order whose workflow ended abnormally: halt the order, then record the answer."""
    ending = await workflows.ending(event.order_id)
    if await halts.record_halt(session, ending, detected_by="deposit answer") is None:
        return False
    return await halts.take_deposit_answer(session, event)


def deposit_bridge_task(
    *,
    connection: KafkaConnection,
    sessions: async_sessionmaker[AsyncSession],
    workflows: OrderWorkflows,
    ledger_keys: list[str],
) -> BackgroundTask:
    return consumer_task(
        name=DEPOSIT_BRIDGE,
        connection=connection,
        topics=(DEPOSITS_EVENTS,),
        session_factory=sessions,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=deposit_bridge_handler(workflows, ledger_keys),
        check=deposit_event_check,
        concurrent_by=order_of,  # one customer's orders share a partition: each order's answers in order
    )


def order_of(envelope: Envelope) -> str | None:
    """The order a deposit answer is about (its workflow's signals must keep their order); ``None`` if none."""
    order_id = envelope.data.get("order_id")
    return order_id if isinstance(order_id, str) else None
