"""Charges through Kafka end to end, next to raw Kafka, measured in the same run.

    .venv/bin/python bench/deposits_charges.py [--charges 2000] [--customers 20] [--sequential 50] [--quick]

``--quick`` (200 charges, 5 customers, 10 one at a time, 45 s per phase) only proves the
script still runs and prints its ratio (``tests/bench/test_benchmarks_run.py``); its figures are
too small a sample to quote.

What it measures (needs the local stack: PostgreSQL and Kafka):

1. raw Kafka: N messages of a command's size produced (acks=all, idempotent, as the
   services produce) and consumed back by a reader, first send to last receipt;
2. charges: the same N ``deposit.charge_requested`` commands sent to a real deposits
   process (``uvicorn services.deposits.app:app`` started here on a throw-away
   commands topic with its own consumer group), each answered by a
   ``deposit.charged`` event read back from ``daiko.deposits.events.v1`` -
   command in, ledger transfer + outbox row committed, relay, event out;
3. the round trip of one charge: p50/p99 under the load of step 2, and one at a
   time (``--sequential`` charges, each sent after the previous was answered);
4. the baseline pipeline: the same N commands on a scratch topic, consumed here by a
   consumer group with plain asyncpg SQL - per partition batch one transaction with the
   same row writes as the service's batch path, one statement per kind of row for the
   whole batch as the service makes them (processed-event ids, revenue accounts opened,
   the accounts locked in id order, idempotency keys looked up, transfers inserted, sums
   updated, outbox rows), each answer signed, then produced (acks=all, idempotent), the
   outbox rows marked published and the offsets committed - first send to last answer
   read back.

It prints charges/s next to the baseline's and raw messages/s, and both ratios; the
charges / baseline ratio is Daiko's own overhead, Kafka's and PostgreSQL's speed cancel out. Bounded: at most
``--charges`` commands and ``--timeout`` seconds per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from daiko.db import make_engine, make_session_factory, transaction
from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.kafka import KafkaConnection, admin_client, admin_connection, client_options, idempotent_producer
from daiko.partitions import FETCH_MAX_RECORDS
from daiko.settings import PROJECT_ROOT, KafkaAdminSettings
from services.deposits.domain import TransferKind
from services.deposits.ledger.domain import BANK_ACCOUNT, deposit_account, revenue_account
from services.deposits.ledger.repository import AccountRef, Movement, post
from services.deposits.service import attest
from services.deposits.settings import DepositsSettings

PRICE = 100


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(customer_id: str, order_id: str) -> Envelope:
    return Envelope(
        type="deposit.charge_requested",
        source="bench/orders",
        subject=customer_id,
        data={
            "order_id": order_id,
            "customer_id": customer_id,
            "billing_seq": 1,
            "revision": 1,
            "amount": PRICE,
            "idempotency_key": f"charge:{order_id}:1:1",
        },
    )


async def raw_kafka(kafka: KafkaConnection, topic: str, count: int, size: int, timeout: float) -> float:
    """Messages per second, first send to last receipt, with the services' producer settings."""
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    producer = idempotent_producer(kafka)
    await asyncio.gather(consumer.start(), producer.start())
    try:
        partitions = [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        payload = b"x" * size
        received = 0
        start = time.perf_counter()

        async def produce() -> None:
            futures = [await producer.send(topic, payload, key=str(i % 64).encode()) for i in range(count)]
            await asyncio.gather(*futures)

        sending = asyncio.create_task(produce())
        deadline = start + timeout
        while received < count and time.perf_counter() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=1000)).values():
                received += len(records)
        elapsed = time.perf_counter() - start
        await sending
        if received < count:
            raise SystemExit(f"raw Kafka: only {received}/{count} messages back within {timeout}s")
        return count / elapsed
    finally:
        await asyncio.gather(consumer.stop(), producer.stop())


# Set-based, as the deposits consumer's batch path writes (one statement per kind of row for the whole batch).
_BASE_CLAIM = (
    "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_BASE_OPEN = (
    "INSERT INTO accounts (code, kind, customer_id, order_id, debits_must_not_exceed_credits) "
    "SELECT code, 'order_revenue', customer, o, false FROM unnest($1::text[], $2::text[], $3::text[]) "
    "AS v(code, customer, o) ON CONFLICT (code) DO NOTHING"
)
_BASE_LOCK = (
    "SELECT id, code, debits_posted, credits_posted FROM accounts WHERE code = ANY($1::text[]) ORDER BY id FOR UPDATE"
)
_BASE_FIND = "SELECT idempotency_key FROM transfers WHERE idempotency_key = ANY($1::text[])"
_BASE_TRANSFERS = (
    "INSERT INTO transfers (idempotency_key, phase, kind, debit_account_id, credit_account_id, amount, "
    "customer_id, balance_after, held_after, order_id, billing_seq, revision) "
    "SELECT k, 'posted', 'charge', d, c, a, cu, b, 0, o, s, r FROM unnest($1::text[], $2::bigint[], $3::bigint[], "
    "$4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::int[], $9::int[]) AS v(k, d, c, a, cu, b, o, s, r) "
    "RETURNING idempotency_key, id, created_at"
)
_BASE_SUMS = (
    "UPDATE accounts SET debits_posted = v.dp, credits_posted = v.cp "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, dp, cp) WHERE accounts.id = v.id"
)
_BASE_OUTBOX = (
    "INSERT INTO outbox (event_id, topic, key, payload, published_at) "
    "SELECT e, $1, k, p, now() FROM unnest($2::text[], $3::text[], $4::bytea[]) AS v(e, k, p) RETURNING id"
)
_BASE_PUBLISHED = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"


async def baseline(
    settings: DepositsSettings,
    kafka: KafkaConnection,
    topic: str,
    answers_topic: str,
    group: str,
    stop: asyncio.Event,
) -> None:
    """The same work as the deposits consumer in plain SQL: a batch per partition, one transaction each.

    The same statements as the service's batch path (one per kind of row for the whole batch), so
    the ratio is Daiko's own overhead (ORM, contracts, plumbing), not a difference of SQL. Its
    outbox rows are written already marked published (the stack's relays must not send them) and
    marked again after the answer is produced, so the row writes match the relay's too.
    """
    url = settings.database_url(settings.deposits_database).replace("postgresql+asyncpg", "postgresql")
    signing_key = settings.ledger_signing_key.get_secret_value()

    pool = await asyncpg.create_pool(url, min_size=6, max_size=6)
    consumer = AIOKafkaConsumer(
        topic, **client_options(kafka), group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    producer = idempotent_producer(kafka)
    await asyncio.gather(consumer.start(), producer.start())

    async def partition(tp: TopicPartition, records: list[Any]) -> None:
        answers: list[tuple[str, bytes]] = []
        outbox_ids: list[int] = []
        async with pool.acquire() as conn, conn.transaction():
            events = [Envelope.from_bytes(record.value) for record in records]
            claimed = {r["event_id"] for r in await conn.fetch(_BASE_CLAIM, group, [e.id for e in events])}
            new = []
            for event in events:
                if event.id in claimed:
                    claimed.discard(event.id)
                    new.append(event)
            if not new:
                await consumer.commit({tp: records[-1].offset + 1})
                return
            data = [e.data for e in new]
            revenue = {revenue_account(d["order_id"]): d for d in data}
            await conn.execute(
                _BASE_OPEN,
                list(revenue),
                [d["customer_id"] for d in revenue.values()],
                [d["order_id"] for d in revenue.values()],
            )
            codes = sorted({deposit_account(d["customer_id"]) for d in data} | set(revenue))
            rows = {r["code"]: dict(r) for r in await conn.fetch(_BASE_LOCK, codes)}
            seen = {r["idempotency_key"] for r in await conn.fetch(_BASE_FIND, [d["idempotency_key"] for d in data])}
            posted = []
            answered: list[str] = []  # the event ids the answers are for, outbox rows' ids
            for event, d in zip(new, data, strict=True):
                if d["idempotency_key"] in seen:
                    continue
                seen.add(d["idempotency_key"])
                debit, credit, amount = (
                    rows[deposit_account(d["customer_id"])],
                    rows[revenue_account(d["order_id"])],
                    int(d["amount"]),
                )
                balance = debit["credits_posted"] - debit["debits_posted"] - amount
                if balance < 0:
                    raise SystemExit("baseline: a deposit would go below zero (the bench funds too little)")
                debit["debits_posted"] += amount
                credit["credits_posted"] += amount
                posted.append((d, debit["id"], credit["id"], amount, balance))
                answered.append(event.id)
            stored = {
                r["idempotency_key"]: r
                for r in await conn.fetch(
                    _BASE_TRANSFERS,
                    [d["idempotency_key"] for d, *_ in posted],
                    [p[1] for p in posted],
                    [p[2] for p in posted],
                    [p[3] for p in posted],
                    [d["customer_id"] for d, *_ in posted],
                    [p[4] for p in posted],
                    [d["order_id"] for d, *_ in posted],
                    [d["billing_seq"] for d, *_ in posted],
                    [d["revision"] for d, *_ in posted],
                )
            }
            touched = list(rows.values())
            await conn.execute(
                _BASE_SUMS,
                [a["id"] for a in touched],
                [a["debits_posted"] for a in touched],
                [a["credits_posted"] for a in touched],
            )
            for d, _, _, amount, balance in posted:
                transfer = stored[d["idempotency_key"]]
                customer, order = d["customer_id"], d["order_id"]
                answer = Envelope(
                    type="deposit.charged",
                    source="bench/baseline",
                    subject=customer,
                    data={
                        **d,
                        "transfer_id": transfer["id"],
                        "attestation": attest(
                            signing_key,
                            "deposit.charged",
                            customer_id=customer,
                            order_id=order,
                            key=d["idempotency_key"],
                            amount=amount,
                            transfer_id=transfer["id"],
                        ),
                        "replayed": False,
                        "charged_at": transfer["created_at"].isoformat(),
                        "balance": balance,
                        "held": 0,
                        "available": balance,
                    },
                )
                answers.append((customer, answer.to_bytes()))
            outbox_ids = [
                r["id"]
                for r in await conn.fetch(
                    _BASE_OUTBOX,
                    answers_topic,
                    answered,
                    [key for key, _ in answers],
                    [value for _, value in answers],
                )
            ]
        futures = [await producer.send(answers_topic, value, key=key.encode()) for key, value in answers]
        await asyncio.gather(*futures)
        async with pool.acquire() as conn:
            await conn.execute(_BASE_PUBLISHED, outbox_ids)
        await consumer.commit({tp: records[-1].offset + 1})

    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=FETCH_MAX_RECORDS)
            await asyncio.gather(*(partition(tp, records) for tp, records in batches.items()))
    finally:
        await asyncio.gather(consumer.stop(), producer.stop())
        await pool.close()


async def baseline_rate(
    settings: DepositsSettings, kafka: KafkaConnection, producer: AIOKafkaProducer, customers: list[str], args: Any
) -> float:
    """Charges per second through the baseline pipeline, first command sent to last answer read."""
    run = uuid.uuid4().hex[:8]
    topic, answers_topic = f"bench.base-commands.{run}", f"bench.base-answers.{run}"
    admin = admin_client(kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1), NewTopic(answers_topic, 6, 1)])
    reader = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    stop = asyncio.Event()
    try:
        await reader.start()
        partitions = [TopicPartition(answers_topic, p) for p in range(6)]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        pipeline = asyncio.create_task(baseline(settings, kafka, topic, answers_topic, f"bench-base-{run}", stop))
        warm = [command(c, f"base-{run}-warm-{i}") for i, c in enumerate(customers)]
        orders = [command(customers[n % len(customers)], f"base-{run}-{n:06d}") for n in range(args.charges)]

        async def answered(count: int) -> None:
            received, deadline = 0, time.perf_counter() + args.timeout
            while received < count:
                if time.perf_counter() > deadline or pipeline.done():
                    raise SystemExit(f"baseline: {received}/{count} answers within {args.timeout}s")
                for records in (await reader.getmany(timeout_ms=100, max_records=1000)).values():
                    received += len(records)

        for event in warm:
            await producer.send(topic, event.to_bytes(), key=event.subject.encode())
        await answered(len(warm))
        start = time.perf_counter()
        for event in orders:
            await producer.send(topic, event.to_bytes(), key=event.subject.encode())
        await producer.flush()
        await answered(len(orders))
        rate: float = args.charges / (time.perf_counter() - start)
        return rate
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pipeline, timeout=30)
        await reader.stop()
        await admin.delete_topics([topic, answers_topic])
        await admin.close()


class Answers:
    """Reads the events topic from its end and notes when each bench order's answer arrives."""

    def __init__(self, kafka: KafkaConnection) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
        self.arrived: dict[str, float] = {}
        self.rejected: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, producer: AIOKafkaProducer) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(DEPOSITS_EVENTS, p) for p in await producer.partitions_for(DEPOSITS_EVENTS)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            for records in (await self.consumer.getmany(timeout_ms=100, max_records=1000)).values():
                now = time.perf_counter()
                for r in records:
                    event = Envelope.from_bytes(r.value)
                    order_id = event.data.get("order_id")
                    if event.source == "daiko/deposits" and isinstance(order_id, str) and order_id.startswith("bench-"):
                        self.arrived.setdefault(order_id, now)
                        if event.type != "deposit.charged":
                            self.rejected[order_id] = str(event.data.get("rejection"))

    async def wait(self, orders: list[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while any(o not in self.arrived for o in orders):
            if time.perf_counter() > deadline:
                missing = sum(o not in self.arrived for o in orders)
                raise SystemExit(f"{missing}/{len(orders)} charges unanswered after {timeout}s")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


async def start_service(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "services.deposits.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"deposits process exited:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return proc
            await asyncio.sleep(0.2)
    raise SystemExit("deposits process did not become ready")


async def fund(settings: DepositsSettings, customers: list[str], amount: int) -> None:
    engine = make_engine(settings.database_url(settings.deposits_database), pool_size=2)
    sessions = make_session_factory(engine)
    try:
        for customer_id in customers:
            async with transaction(sessions) as session:
                await post(
                    session,
                    Movement(
                        key=f"bench-pay-in:{customer_id}",
                        kind=TransferKind.BANK_PAY_IN,
                        customer_id=customer_id,
                        debit=AccountRef.agency(BANK_ACCOUNT),
                        credit=AccountRef.deposit(customer_id),
                        amount=amount,
                        note="benchmark funds",
                    ),
                )
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    settings = DepositsSettings()
    run = uuid.uuid4().hex[:8]
    commands_topic, raw_topic = f"bench.deposits-commands.{run}", f"bench.raw.{run}"
    admin_settings = KafkaAdminSettings()
    kafka = admin_connection(admin_settings)  # scratch topics: only the setup admin may create and use them
    admin = admin_client(kafka)
    await admin.start()
    await admin.create_topics([NewTopic(commands_topic, 6, 1), NewTopic(raw_topic, 6, 1)])
    customers = [f"bench-cust-{run}-{i}" for i in range(args.customers)]
    base_customers = [f"bench-cust-{run}-base-{i}" for i in range(args.customers)]
    per_customer = -(-(args.charges + args.sequential) // args.customers)
    log = Path(tempfile.gettempdir()) / f"daiko-bench-deposits-{run}.log"
    env = {
        **os.environ,
        "DAIKO_DEPOSITS_COMMANDS_TOPIC": commands_topic,
        "DAIKO_DEPOSITS_COMMANDS_GROUP": f"bench-deposits-{run}",
        # The bench's deposits process reads a scratch topic no service ACL names: it runs as the admin.
        "DAIKO_DEPOSITS_KAFKA_USERNAME": admin_settings.kafka_admin_username,
        "DAIKO_DEPOSITS_KAFKA_PASSWORD": admin_settings.kafka_admin_password.get_secret_value(),
        "DAIKO_LOG_LEVEL": "WARNING",
    }
    proc: subprocess.Popen[bytes] | None = None
    producer = idempotent_producer(kafka)
    answers = Answers(kafka)
    try:
        size = len(command(customers[0], f"bench-{run}-000000").to_bytes())
        print(f"raw Kafka: {args.charges} messages of {size} bytes ...", flush=True)
        raw_rate = await raw_kafka(kafka, raw_topic, args.charges, size, args.timeout)

        print(f"funding {len(customers)} deposits, starting the deposits process ...", flush=True)
        await fund(settings, customers + base_customers, per_customer * PRICE)
        proc = await start_service(env, free_port(), log)
        await producer.start()
        await answers.start(producer)

        # Warm-up: one charge per customer (connections, first account rows, consumer group join).
        warm = [f"bench-{run}-warm-{i}" for i in range(len(customers))]
        for customer_id, order_id in zip(customers, warm, strict=True):
            await producer.send(commands_topic, command(customer_id, order_id).to_bytes(), key=customer_id.encode())
        await answers.wait(warm, args.timeout)

        print(f"charges: {args.charges} commands through the deposits process ...", flush=True)
        orders = [f"bench-{run}-{n:06d}" for n in range(args.charges)]
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for n, order_id in enumerate(orders):
            customer_id = customers[n % len(customers)]
            sent[order_id] = time.perf_counter()
            await producer.send(commands_topic, command(customer_id, order_id).to_bytes(), key=customer_id.encode())
        await producer.flush()
        await answers.wait(orders, args.timeout)
        elapsed = max(answers.arrived[o] for o in orders) - start
        charge_rate = args.charges / elapsed
        loaded = [(answers.arrived[o] - sent[o]) * 1000 for o in orders]

        print(f"one at a time: {args.sequential} charges ...", flush=True)
        single: list[float] = []
        for n in range(args.sequential):
            order_id, customer_id = f"bench-{run}-seq-{n:04d}", customers[n % len(customers)]
            t0 = time.perf_counter()
            await producer.send_and_wait(
                commands_topic, command(customer_id, order_id).to_bytes(), key=customer_id.encode()
            )
            await answers.wait([order_id], args.timeout)
            single.append((answers.arrived[order_id] - t0) * 1000)

        print(f"baseline: {args.charges} commands through plain SQL ...", flush=True)
        base_rate = await baseline_rate(settings, kafka, producer, base_customers, args)

        rejected = {o: r for o, r in answers.rejected.items() if o in sent}
        print()
        print(
            f"deposits charges end to end (command in -> deposit.charged out), {args.charges} charges, "
            f"{len(customers)} customers, 6 partitions, outbox poll {settings.outbox_poll_interval_seconds}s, "
            + ("relay wakes on commit" if settings.outbox_listen else "relay polls only")
        )
        print(f"  raw Kafka produce->consume      {raw_rate:10.0f} msg/s")
        print(f"  charges through deposits        {charge_rate:10.0f} charges/s")
        print(f"  baseline (plain SQL) pipeline   {base_rate:10.0f} charges/s")
        print(f"  ratio charges / baseline        {charge_rate / base_rate:10.3f}")
        print(f"  ratio charges / raw Kafka       {charge_rate / raw_rate:10.3f}  (1 : {raw_rate / charge_rate:.0f})")
        for name, ms in (("all sent at once", loaded), ("one at a time", single)):
            print(f"  round trip, {name:<17}p50 {statistics.median(ms):8.1f} ms   p99 {percentile(ms, 0.99):8.1f} ms")
        if rejected:
            raise SystemExit(f"{len(rejected)} charges were rejected (not a clean run): {list(rejected.items())[:3]}")
    finally:
        await answers.stop()
        await producer.stop()
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        await admin.delete_topics([commands_topic, raw_topic])
        await admin.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed per phase")
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute: does it still run?")
    args = parser.parse_args()
    if args.quick:
        args.charges, args.customers, args.sequential, args.timeout = 200, 5, 10, 45.0
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
