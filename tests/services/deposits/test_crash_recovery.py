"""Killing the deposits process mid-stream loses no charge and applies none twice (docs/operations.md).

A real ``uvicorn services.deposits.app:app`` subprocess consumes a throw-away
commands topic with its own group; it is SIGKILLed while charges are flowing,
more charges arrive while it is down, and a fresh process picks up where the
committed offsets and the processed-events table say it stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from daiko.events import Envelope
from daiko.settings import PROJECT_ROOT
from tests.conftest import StackSettings, kafka_as
from tests.services.deposits.conftest import (
    Caller,
    Commands,
    Ledger,
    eventually,
    free_port,
    new_customer,
    new_order_id,
    pay_in,
)

pytestmark = pytest.mark.stack

CUSTOMERS = 3
FUNDS = 5_000
PRICE = 100
PER_CUSTOMER = 30  # per batch; two batches: 60 charges of 100 against 5,000 → 50 charged, 10 rejected


class DepositsProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "services.deposits.app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                ],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        async def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(up, what="the deposits subprocess to answer")

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def process_env(stack: StackSettings) -> Iterator[Callable[[str, str], dict[str, str]]]:
    admin = kafka_as(stack).login

    def make(topic: str, group: str) -> dict[str, str]:
        return {
            **os.environ,
            "DAIKO_DEPOSITS_COMMANDS_TOPIC": topic,
            "DAIKO_DEPOSITS_COMMANDS_GROUP": group,
            "DAIKO_OUTBOX_POLL_INTERVAL_SECONDS": "0.05",
            "PYTHONUNBUFFERED": "1",
            # A scratch topic no service ACL names: this deposits process reads it as the setup admin.
            "DAIKO_DEPOSITS_KAFKA_USERNAME": admin.username,
            "DAIKO_DEPOSITS_KAFKA_PASSWORD": admin.password.get_secret_value(),
        }

    yield make


async def test_killing_the_service_mid_stream_loses_nothing_and_charges_nothing_twice(
    http: httpx.AsyncClient,
    staff: dict[str, str],
    ledger: Ledger,
    producer: AIOKafkaProducer,
    new_topic: Callable[..., Awaitable[str]],
    stack: StackSettings,
    process_env: Callable[[str, str], dict[str, str]],
    tmp_path: Path,
) -> None:
    customers: list[Caller] = [new_customer(stack) for _ in range(CUSTOMERS)]
    for c in customers:
        await pay_in(http, staff, c, FUNDS)
    commands = Commands(producer, await new_topic("deposits-commands", partitions=3))
    process = DepositsProcess(process_env(commands.topic, f"deposits-crash-{uuid.uuid4().hex[:8]}"), tmp_path / "log")

    def batch() -> list[Envelope]:
        return [commands.charge(c.id, new_order_id(), PRICE) for _ in range(PER_CUSTOMER) for c in customers]

    first, second = batch(), batch()
    all_orders = {e.data["order_id"] for e in first + second}

    async def answered() -> list[Envelope]:
        found = []
        for c in customers:
            found += [e for e in await ledger.events(c.id) if e.data.get("order_id") in all_orders]
        return found

    await commands.send(*first)
    await process.start()
    try:
        await eventually(lambda: _at_least(answered, 5), what="some charges to be applied before the kill")
        process.kill(signal.SIGKILL)
        await commands.send(*second, *first[:10])  # more work while it is down, and redeliveries
        await process.start()

        async def all_answered() -> list[Envelope] | None:
            found = await answered()
            return found if len({e.data["order_id"] for e in found}) == len(all_orders) else None

        await eventually(all_answered, what="every charge to be answered after the restart")
        sentinels = [commands.charge(c.id, new_order_id(), 1) for c in customers]
        await commands.send(*sentinels)  # behind everything else on each customer's partition

        async def sentinels_done() -> bool:
            orders = {s.data["order_id"] for s in sentinels}
            done = 0
            for c in customers:
                done += sum(e.data.get("order_id") in orders for e in await ledger.events(c.id))
            return done == len(sentinels)

        await eventually(sentinels_done, what="the sentinel charges")
    finally:
        process.kill(signal.SIGTERM)

    found = await answered()
    per_order = Counter(e.data["order_id"] for e in found)
    assert set(per_order.values()) == {1}, "every command answered exactly once"
    for c in customers:
        charged = [e for e in found if e.subject == c.id and e.type == "deposit.charged"]
        rejected = [e for e in found if e.subject == c.id and e.type == "deposit.charge_rejected"]
        assert (len(charged), len(rejected)) == (FUNDS // PRICE, 2 * PER_CUSTOMER - FUNDS // PRICE)
        assert await ledger.deposit(c.id) == (0, 0, 0)  # the sentinels of 1 yen were rejected too
        charges = [t for t in await ledger.transfers(c.id) if t.kind == "charge"]
        assert len(charges) == len({t.order_id for t in charges}) == FUNDS // PRICE
        await ledger.assert_consistent(c.id)


async def _at_least(probe: Callable[[], Awaitable[list[Envelope]]], n: int) -> bool:
    return len(await probe()) >= n
