"""Commit to consumable: how long an outbox event waits for the relay, woken on commit vs polling.

    .venv/bin/python bench/outbox_relay.py [--events 100] [--rounds 4] [--poll 0.2] [--quick]

Needs the local stack's PostgreSQL and Kafka. In a scratch database
(``daiko_bench_outbox``, migrated by the plumbing's own history, so it has the
commit trigger) and on a scratch topic it measures, one event at a time, the
time from the writer's COMMIT returning to a plain consumer receiving the event:

* the relay as the services run it: it wakes on commit (LISTEN/NOTIFY);
* the same relay polling only (``listen=False``) every ``--poll`` seconds, the
  orders relay's old setting (0.2 s): what a payment paid twice before;
* the baseline: the same payload produced straight to Kafka (acks=all,
  idempotent, as the relay produces) and consumed by the same consumer.

Relay modes alternate in ``--rounds`` so both see the same machine. It prints
p50/p99 of each and their ratios to the baseline. ``--quick`` (15 events, 2
rounds) only proves the script still runs and prints its ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command as alembic_command

from daiko.db import make_engine, make_session_factory
from daiko.events import Envelope
from daiko.kafka import KafkaConnection, admin_client, admin_connection, client_options, idempotent_producer
from daiko.migrations import PLUMBING_SCHEMA, alembic_config
from daiko.outbox import OutboxRelay, enqueue
from daiko.settings import KafkaAdminSettings
from daiko.tables import Outbox

DATABASE = "daiko_bench_outbox"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Receipts:
    """A bare consumer on the scratch topic: when did each event id become consumable?"""

    def __init__(self, kafka: KafkaConnection) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, producer: AIOKafkaProducer, topic: str) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            for records in (await self.consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for r in records:
                    self.seen.setdefault(Envelope.from_bytes(r.value).id, now)

    async def wait(self, event_id: str, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while event_id not in self.seen:
            if time.perf_counter() > deadline:
                raise SystemExit(f"event {event_id} not consumed within {timeout}s")
            await asyncio.sleep(0.0005)
        return self.seen[event_id]

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


async def scratch_database(settings: KafkaAdminSettings) -> str:
    conn = await asyncpg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        database="postgres",
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    url = settings.database_url(DATABASE)
    await asyncio.to_thread(alembic_command.upgrade, alembic_config(PLUMBING_SCHEMA, url), "head")
    return url


def event() -> Envelope:
    return Envelope(type="bench.happened", source="bench/outbox", subject="order-b", data={"n": 1})


async def main(args: argparse.Namespace) -> None:
    settings = KafkaAdminSettings()
    kafka = admin_connection(settings)  # a scratch topic: only the setup admin may create and use it
    topic = f"bench.outbox.{uuid.uuid4().hex[:8]}"
    admin = admin_client(kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    engine = make_engine(await scratch_database(settings), pool_size=4)
    sessions = make_session_factory(engine)
    producer = idempotent_producer(kafka)
    receipts = Receipts(kafka)
    latencies: dict[str, list[float]] = {"raw": [], "listen": [], "poll": []}
    try:
        await producer.start()
        await receipts.start(producer, topic)
        per_round = max(1, args.events // args.rounds)

        async def through_relay(mode: str) -> None:
            stop = asyncio.Event()
            relay = OutboxRelay(sessions, Outbox, producer, poll_interval=args.poll, listen=mode == "listen")
            task = asyncio.create_task(relay.run(stop))
            await asyncio.sleep(0.5)  # connected, listening, its first (empty) batch done
            try:
                for _ in range(per_round):
                    e = event()
                    async with sessions() as session, session.begin():
                        enqueue(session, Outbox, topic=topic, key=e.subject, event=e)
                    committed = time.perf_counter()
                    latencies[mode].append((await receipts.wait(e.id, 30.0)) - committed)
                    # Spread the commits over the poll's phase, as real commits fall at random.
                    await asyncio.sleep(args.poll * ((len(latencies[mode]) * 0.37) % 1.0))
            finally:
                stop.set()
                await task

        for _ in range(per_round):  # warm-up of the raw path, not counted
            e = event()
            await producer.send_and_wait(topic, e.to_bytes(), key=e.subject.encode())
            await receipts.wait(e.id, 30.0)
        for _ in range(args.rounds):
            for _ in range(per_round):
                e = event()
                sent = time.perf_counter()
                await producer.send_and_wait(topic, e.to_bytes(), key=e.subject.encode())
                latencies["raw"].append((await receipts.wait(e.id, 30.0)) - sent)
            await through_relay("poll")
            await through_relay("listen")
    finally:
        await receipts.stop()
        await producer.stop()
        await engine.dispose()
        await admin.delete_topics([topic])
        await admin.close()

    def ms(name: str, q: float) -> float:
        return percentile(latencies[name], q) * 1000

    print(f"\noutbox commit -> event consumable, one at a time, {per_round * args.rounds} events per mode")
    names = {
        "raw": "baseline: raw Kafka produce->consume",
        "poll": f"relay polling every {args.poll}s",
        "listen": "relay woken on commit",
    }
    for key, label in names.items():
        print(f"  {label:<38} p50 {ms(key, 0.5):8.1f} ms   p99 {ms(key, 0.99):8.1f} ms")
    raw50 = statistics.median(latencies["raw"])
    for key in ("poll", "listen"):
        print(
            f"ratio {names[key]} / raw Kafka: p50 {statistics.median(latencies[key]) / raw50:.1f}x  "
            f"p99 {percentile(latencies[key], 0.99) / percentile(latencies['raw'], 0.99):.1f}x"
        )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100, help="events per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    parser.add_argument("--poll", type=float, default=0.2, help="the polling relay's interval (the old orders one)")
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute: does it still run?")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rounds = 16, 2
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
