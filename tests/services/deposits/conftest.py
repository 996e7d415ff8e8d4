"""Fixtures for the deposits tests: the service under test, the PayPal sandbox, Kafka, polling.

HTTP tests talk over TCP to this checkout's deposits app, served by uvicorn in
a thread on a free port and pointed at the PayPal sandbox (also served in a
thread), whose webhooks come back to it. The app relays its outbox like the
stack's process does (the two relays share the outbox safely).

Kafka tests produce commands to the real ``daiko.deposits.commands.v1`` topic
and check effects in the deposits database and the events. Whoever consumes
the commands group does the work: the stack's deposits process when it runs
(restart it after changing code), otherwise a consumer these fixtures start.
Every test uses fresh customer and order ids, so reruns on a used database are fine.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import consumer_task
from daiko.events import DEPOSITS_COMMANDS, DEPOSITS_EVENTS, Envelope
from daiko.kafka import admin_client, client_options, service_connection
from daiko.settings import DaikoSettings
from services.deposits.app import build_app
from services.deposits.db import DeadLetter, Outbox, ProcessedEvent, TransferRow
from services.deposits.events import command_batch_handler, command_handler, command_type_known
from services.deposits.ledger.queries import audit, ledger_totals
from services.deposits.ledger.repository import deposit_of
from services.deposits.paypal_sandbox import create_app as create_sandbox
from services.deposits.settings import DepositsSettings
from tests.conftest import StackSettings, bearer, customer_token, kafka_as, staff_token

T = TypeVar("T")
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()  # a transfer date always in the past
DEADLINE = 60.0  # generous for a slow shared machine; polls return as soon as the effect is there
WEBHOOK_SECRET = "test-webhook-secret"  # the sandbox's own, playing PayPal's: the deposits app never sees it
WEBHOOK_ID = "WH-TEST-WEBHOOK"

DEV_SIGNING_KEY = DepositsSettings().ledger_signing_key.get_secret_value()
"""The ledger key of the local stack: answers these tests produce verify like the deposits service's."""


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = DEADLINE, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``; fail clearly at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """uvicorn in a daemon thread with its own event loop; yields the base URL once it accepts requests."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"server on port {port} did not start", pytrace=False)
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@dataclass
class Service:
    url: str
    settings: DepositsSettings
    sandbox_url: str


@pytest.fixture(scope="session")
def deposits(stack: StackSettings) -> Iterator[Service]:
    """This checkout's deposits app and the PayPal sandbox, each on its own port."""
    app_port, sandbox_port = free_port(), free_port()
    settings = DepositsSettings(
        paypal_base_url=f"http://127.0.0.1:{sandbox_port}",
        paypal_webhook_id=WEBHOOK_ID,
        deposits_consume_commands=False,
    )
    sandbox = create_sandbox(
        client_id=settings.paypal_client_id,
        client_secret=settings.paypal_client_secret.get_secret_value(),
        webhook_secret=WEBHOOK_SECRET,
        webhook_id=WEBHOOK_ID,
        webhook_url=f"http://127.0.0.1:{app_port}/v1/deposit/paypal/webhook",
    )
    with serve_in_thread(sandbox, sandbox_port) as sandbox_url, serve_in_thread(build_app(settings), app_port) as url:
        yield Service(url, settings, sandbox_url)


@pytest.fixture(scope="session")
async def http(deposits: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deposits.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
async def sandbox_http(deposits: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deposits.sandbox_url, timeout=30) as client:
        yield client


@pytest.fixture
def customer(stack: StackSettings, customer_id: str) -> Caller:
    return Caller(customer_id, bearer(customer_token(stack, customer_id)))


@pytest.fixture
def staff(stack: StackSettings) -> dict[str, str]:
    return bearer(staff_token(stack))


@dataclass
class Caller:
    id: str
    headers: dict[str, str]

    def with_key(self, key: str) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key}


def new_customer(stack: StackSettings) -> Caller:
    cid = f"cust-{uuid.uuid4().hex[:12]}"
    return Caller(cid, bearer(customer_token(stack, cid)))


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:12]}"


# --- money in, for tests that need a funded deposit ---------------------------------------------


async def pay_in(http: httpx.AsyncClient, staff: dict[str, str], customer: Caller, amount: int) -> dict[str, Any]:
    """Bank-transfer pay-in: the customer reports, staff confirm. Returns the confirmation body."""
    report = await http.post(
        "/v1/deposit/pay-in-reports",
        json={"amount": amount, "transfer_date": YESTERDAY, "sender_name": "ヤマダ タロウ"},
        headers=customer.headers,
    )
    assert report.status_code == 201, report.text
    confirmed = await http.post(f"/v1/staff/pay-in-reports/{report.json()['id']}/confirm", json={}, headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body


def bank_account(**overrides: Any) -> dict[str, Any]:
    return {
        "bank_name": "三菱UFJ銀行",
        "branch": "渋谷支店",
        "account_type": "ordinary",
        "account_number": "1234567",
        "holder_name": "ヤマダ タロウ",
        **overrides,
    }


def to_bank(amount: Any, **overrides: Any) -> dict[str, Any]:
    """A withdrawal request body to a Japanese bank account."""
    return {"method": "japanese_bank", "amount": amount, "bank_account": bank_account(**overrides)}


# --- the database, as the auditor sees it --------------------------------------------------------


@dataclass
class Ledger:
    sessions: async_sessionmaker[AsyncSession]

    async def deposit(self, customer_id: str) -> tuple[int, int, int]:
        async with self.sessions() as session:
            d = await deposit_of(session, customer_id)
        return d.balance, d.held, d.available

    async def transfers(self, customer_id: str) -> list[TransferRow]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(TransferRow).where(TransferRow.customer_id == customer_id).order_by(TransferRow.id)
            )
            return list(rows.all())

    async def events(self, customer_id: str, event_type: str | None = None) -> list[Envelope]:
        """Events this service wrote to its outbox for the customer (what Kafka will carry), in order."""
        async with self.sessions() as session:
            rows = await session.scalars(select(Outbox.payload).where(Outbox.key == customer_id).order_by(Outbox.id))
            events = [Envelope.from_bytes(p) for p in rows.all()]
        return [e for e in events if event_type is None or e.type == event_type]

    async def assert_consistent(self, customer_id: str) -> None:
        """Cached balances equal the sums of the transfers, and Σ debits = Σ credits over the ledger."""
        async with self.sessions() as session, session.begin():
            mine = await audit(session, customer_id=customer_id)
        assert mine.ok, mine.mismatches
        async with self.sessions() as session:
            whole = await ledger_totals(session)
        assert whole.balanced, whole

    async def count(self, sql: str, **params: Any) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(text(sql), params) or 0)


@pytest.fixture(scope="session")
def ledger(db_sessions: dict[str, async_sessionmaker[AsyncSession]]) -> Ledger:
    return Ledger(db_sessions["deposits"])


# --- Kafka --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def producer(stack: StackSettings) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(**client_options(kafka_as(stack)), acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def _group_has_members(settings: DaikoSettings, group: str) -> bool:
    admin = admin_client(kafka_as(settings))
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    return any(g[0] == 0 and g[1] == group and g[5] for r in responses for g in r.groups)


@pytest.fixture(scope="session")
async def commands_consumer(
    deposits: Service, db_sessions: dict[str, async_sessionmaker[AsyncSession]]
) -> AsyncIterator[str]:
    """Makes sure the commands group has a consumer: the stack's deposits process, or one started here."""
    settings = deposits.settings
    group = settings.deposits_commands_group
    if await _group_has_members(settings, group):
        yield "stack"
        return
    stop = asyncio.Event()
    run = consumer_task(
        name=group,
        connection=service_connection(settings),
        topics=(DEPOSITS_COMMANDS,),
        session_factory=db_sessions["deposits"],
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=command_handler(DEV_SIGNING_KEY),
        check=command_type_known,
        batch=True,  # as the service's own consumer (services/deposits/app.py)
        batch_handler=command_batch_handler(DEV_SIGNING_KEY),
    )

    async def consume() -> None:
        await run(stop)

    task = asyncio.create_task(consume())
    await eventually(lambda: _group_has_members(settings, group), what="the commands consumer to join")
    yield "tests"
    stop.set()
    await asyncio.wait_for(task, timeout=30)


class Commands:
    """Puts charge and refund commands on the real commands topic, shaped as the order workflow sends them."""

    def __init__(self, producer: AIOKafkaProducer, topic: str = DEPOSITS_COMMANDS) -> None:
        self._producer = producer
        self.topic = topic

    @staticmethod
    def charge(
        customer_id: str, order_id: str, amount: Any, *, billing_seq: int = 1, revision: int = 1, **extra: Any
    ) -> Envelope:
        return Envelope(
            type="deposit.charge_requested",
            source="tests/orders",
            subject=customer_id,
            data={
                "order_id": order_id,
                "customer_id": customer_id,
                "billing_seq": billing_seq,
                "revision": revision,
                "amount": amount,
                "idempotency_key": f"charge:{order_id}:{billing_seq}:{revision}",
                **extra,
            },
        )

    @staticmethod
    def refund(customer_id: str, order_id: str, amount: Any, *, n: int = 1, reason: str = "canceled") -> Envelope:
        return Envelope(
            type="deposit.refund_requested",
            source="tests/orders",
            subject=customer_id,
            data={
                "order_id": order_id,
                "customer_id": customer_id,
                "amount": amount,
                "idempotency_key": f"refund:{order_id}:{n}",
                "reason": reason,
            },
        )

    async def send(self, *envelopes: Envelope) -> None:
        for e in envelopes:
            await self._producer.send_and_wait(self.topic, e.to_bytes(), key=e.subject.encode())


@pytest.fixture
def commands(producer: AIOKafkaProducer, commands_consumer: str) -> Commands:
    return Commands(producer)


__all__ = ["DEPOSITS_EVENTS"]
