"""Pay → paid: from ``POST /v1/orders/{id}/payments`` to ``order.paid``, next to its own parts, in one run.

    .venv/bin/python bench/pay_to_paid.py [--sequential 40] [--concurrent 20] [--rounds 3] [--quick]

``--quick`` (3 one at a time, one round of 10 at once) only proves the script still runs and
prints its ratios (``tests/bench/test_benchmarks_run.py``); its figures are too small a sample
to quote.

Needs the whole local stack (``make up``). Setup, untimed: one fresh customer per order, a bank
pay-in confirmed by staff, the application and the estimate, so each order awaits payment of
billing 1. Then, timed:

1. Daiko, one at a time (``--sequential`` orders): the customer's ``POST /v1/orders/{id}/payments``
   until the ``order.paid`` event of that order is read back from ``daiko.orders.events.v1``:
   the workflow's update and its recorded transition, the orders relay, the charge command to
   the deposits service, the ledger transaction and the deposits relay, the answer through the
   orders deposit bridge and its signal, the workflow's paid transition, and the orders relay
   once more (one hop more than the baseline below counts: the view is paid a hop earlier);
2. Daiko, ``--concurrent`` payments at once, ``--rounds`` times;
3. the baseline, each sample measured the same way at the same concurrency: a raw Temporal
   update on a bare workflow (no activity, an empty handler) on the stack's Temporal server,
   then two raw Kafka hops (produced with the services' producer settings, consumed by a
   consumer of the services' settings, which produces the second hop to another scratch topic,
   read back here).

Prints p50/p99 of each and the ratios Daiko / baseline (p50), one at a time and at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio import workflow  # noqa: E402

Json = dict[str, Any]
BARE_QUEUE = f"bench-pay-bare-{uuid.uuid4().hex[:6]}"
SETUP_SLOTS = 4  # orders prepared at once (each slot its own source address: the apply rate limit is per IP)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _ok(response: Any, *statuses: int) -> Json:
    answer: httpx.Response = await response
    if answer.status_code not in (statuses or (200,)):
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}")
    body: Json = answer.json()
    return body


# ----------------------------------------------------------------------------- Daiko


async def _partitions(kafka: Any, topic: str) -> list[int]:
    """The topic's partition numbers (a producer waits for the topic's metadata; a bare consumer does not)."""
    from aiokafka import AIOKafkaProducer

    from daiko.kafka import client_options

    producer = AIOKafkaProducer(**client_options(kafka))
    await producer.start()
    try:
        return sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()


class Paid:
    """Reads ``daiko.orders.events.v1`` from its end and notes when each order's ``order.paid`` arrives."""

    def __init__(self, kafka: Any) -> None:
        from aiokafka import AIOKafkaConsumer

        from daiko.kafka import client_options

        self.kafka = kafka
        self.consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from aiokafka import TopicPartition

        from daiko.events import ORDERS_EVENTS

        await self.consumer.start()
        partitions = [TopicPartition(ORDERS_EVENTS, p) for p in await _partitions(self.kafka, ORDERS_EVENTS)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)  # the end is fixed now, before any payment is sent
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from daiko.events import Envelope

        while True:
            for records in (await self.consumer.getmany(timeout_ms=1000, max_records=1000)).values():
                now = time.perf_counter()
                for record in records:
                    event = Envelope.from_bytes(record.value or b"")
                    if event.type != "order.paid":
                        continue
                    order_id = str(event.data.get("order_id"))
                    self.arrived.setdefault(order_id, now)
                    waiter = self.waiting.pop(order_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)

    async def wait(self, order_id: str, timeout: float) -> float:
        """When the order's ``order.paid`` arrived (``perf_counter``)."""
        if order_id in self.arrived:
            return self.arrived[order_id]
        waiter = self.waiting.setdefault(order_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(waiter, timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


class Customer:
    """One order awaiting payment of billing 1, and what it takes to pay it."""

    def __init__(self, order_id: str, revision: int, headers: dict[str, str]) -> None:
        self.order_id, self.revision, self.headers = order_id, revision, headers


async def prepare(count: int, settings: Any, staff: dict[str, str]) -> list[Customer]:
    """``count`` orders awaiting payment, each of a fresh customer with the money on deposit (untimed)."""
    from tests.conftest import bearer, customer_token
    from tests.system.portal import purchase_application

    ready: list[Customer] = []
    todo = list(range(count))

    async def slot(n: int) -> None:
        timeout = httpx.Timeout(60.0, connect=5.0)

        def client(port: int) -> httpx.AsyncClient:
            transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{40 + n}", retries=2)
            return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=timeout)

        async with client(settings.orders_port) as orders, client(settings.deposits_port) as deposits:
            while todo:
                todo.pop()
                customer = bearer(customer_token(settings, f"bench-pay-{uuid.uuid4().hex[:12]}"))
                report = await _ok(
                    deposits.post(
                        "/v1/deposit/pay-in-reports",
                        json={
                            "amount": 50_000,
                            "transfer_date": datetime.now(UTC).date().isoformat(),
                            "sender_name": "BENCH",
                        },
                        headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
                    ),
                    201,
                )
                await _ok(
                    deposits.post(
                        f"/v1/staff/pay-in-reports/{report['id']}/confirm",
                        json={},
                        headers={**staff, "Idempotency-Key": str(uuid.uuid4())},
                    )
                )
                created = await _ok(
                    orders.post(
                        "/v1/orders",
                        json=purchase_application("one_time"),
                        headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
                    ),
                    200,
                    201,
                )
                order_id = created["order_id"]
                estimated = await _ok(
                    orders.post(
                        f"/v1/staff/orders/{order_id}/estimate",
                        json={"domestic_shipping": 800, "service_fee": 500, "international_shipping": 2400},
                        headers=staff,
                    )
                )
                billing = next(b for b in estimated["billings"] if b["seq"] == 1)
                ready.append(Customer(order_id, billing["revision"], customer))

    await asyncio.gather(*(slot(n) for n in range(min(SETUP_SLOTS, count))))
    return ready


async def pay(orders: httpx.AsyncClient, paid: Paid, customer: Customer, timeout: float) -> float:
    """Milliseconds from the payment request to its order's ``order.paid``."""
    began = time.perf_counter()
    await _ok(
        orders.post(
            f"/v1/orders/{customer.order_id}/payments",
            json={"billing_seq": 1, "revision": customer.revision},
            headers=customer.headers,
        ),
        202,
    )
    return (await paid.wait(customer.order_id, timeout) - began) * 1000


# ----------------------------------------------------------------------------- baseline


@workflow.defn(name="BenchPayBare", sandboxed=False)
class BareOrder:
    """A workflow with nothing in it but an update that answers at once."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def pay(self, n: int) -> int:
        return n

    @workflow.signal
    async def finish(self) -> None:
        self.done = True


class Hops:
    """Two raw Kafka hops: here → topic A → a relaying consumer → topic B → here, services' client settings."""

    def __init__(self, kafka: Any, first: str, second: str) -> None:
        from aiokafka import AIOKafkaConsumer

        from daiko.kafka import client_options, idempotent_producer

        self.first, self.second = first, second
        self.producer = idempotent_producer(kafka)
        options = {**client_options(kafka), "enable_auto_commit": False, "isolation_level": "read_committed"}
        self.relay_in, self.back = AIOKafkaConsumer(**options), AIOKafkaConsumer(**options)
        self.waiting: dict[bytes, asyncio.Future[float]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        from aiokafka import TopicPartition

        await asyncio.gather(self.producer.start(), self.relay_in.start(), self.back.start())
        for consumer, topic in ((self.relay_in, self.first), (self.back, self.second)):
            partitions = [TopicPartition(topic, p) for p in await self.producer.partitions_for(topic)]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
        self._tasks = [asyncio.create_task(self._relay()), asyncio.create_task(self._receive())]

    async def _relay(self) -> None:
        while True:
            for records in (await self.relay_in.getmany(timeout_ms=1000, max_records=1000)).values():
                for record in records:
                    await self.producer.send(self.second, record.value, key=record.key)

    async def _receive(self) -> None:
        while True:
            for records in (await self.back.getmany(timeout_ms=1000, max_records=1000)).values():
                now = time.perf_counter()
                for record in records:
                    waiter = self.waiting.pop(record.value or b"", None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)

    async def round_trip(self, key: str) -> float:
        """``perf_counter`` when a message sent now came back after its two hops."""
        token = uuid.uuid4().bytes
        waiter = self.waiting[token] = asyncio.get_running_loop().create_future()
        await self.producer.send(self.first, token, key=key.encode())
        return await asyncio.wait_for(waiter, 60)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(self.producer.stop(), self.relay_in.stop(), self.back.stop())


async def bare_sample(client: Any, hops: Hops, n: int) -> float:
    """Milliseconds of one raw update on its own bare workflow, then two raw Kafka hops."""
    handle = client.get_workflow_handle(f"bench-pay-bare-{BARE_QUEUE}-{n}")
    began = time.perf_counter()
    await handle.execute_update(BareOrder.pay, n)
    back = await hops.round_trip(f"bench-pay-{n}")
    return (back - began) * 1000


# ----------------------------------------------------------------------------- the run


async def main(args: argparse.Namespace) -> None:
    from aiokafka.admin import NewTopic
    from temporalio.client import Client
    from temporalio.worker import Worker

    from daiko.kafka import admin_client, admin_connection
    from tests.conftest import StackSettings, bearer, staff_token

    settings = StackSettings()
    kafka = admin_connection(settings)
    staff = bearer(staff_token(settings))
    concurrent_total = args.concurrent * args.rounds
    paid = Paid(kafka)
    await paid.start()
    print(f"preparing {args.sequential + concurrent_total} orders awaiting payment ...", flush=True)
    began = time.perf_counter()
    customers = await prepare(args.sequential + concurrent_total, settings, staff)
    print(f"  ({time.perf_counter() - began:.0f}s)", flush=True)
    sequential, concurrent = customers[: args.sequential], customers[args.sequential :]
    limits = httpx.Limits(max_connections=args.concurrent + 5)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.orders_port}", timeout=httpx.Timeout(60.0), limits=limits
        ) as orders:
            await pay(orders, paid, sequential[0], args.timeout)  # warm-up: connections, first workflow task
            print(f"Daiko: {len(sequential) - 1} payments one at a time ...", flush=True)
            daiko_one = [await pay(orders, paid, c, args.timeout) for c in sequential[1:]]
            print(f"Daiko: {args.rounds} x {args.concurrent} payments at once ...", flush=True)
            daiko_many: list[float] = []
            for r in range(args.rounds):
                batch = concurrent[r * args.concurrent : (r + 1) * args.concurrent]
                daiko_many += await asyncio.gather(*(pay(orders, paid, c, args.timeout) for c in batch))
    finally:
        await paid.stop()

    run = uuid.uuid4().hex[:8]
    first, second = f"bench.pay-hop1.{run}", f"bench.pay-hop2.{run}"
    admin = admin_client(kafka)
    await admin.start()
    await admin.create_topics([NewTopic(first, 6, 1), NewTopic(second, 6, 1)])
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    hops = Hops(kafka, first, second)
    samples = max(len(daiko_one), 1)
    ids = range(samples + 1 + concurrent_total)
    try:
        await hops.start()
        async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareOrder]):
            handles = [
                await client.start_workflow(BareOrder.run, id=f"bench-pay-bare-{BARE_QUEUE}-{n}", task_queue=BARE_QUEUE)
                for n in ids
            ]
            print("baseline: raw update + 2 raw Kafka hops ...", flush=True)
            await bare_sample(client, hops, 0)  # warm-up
            base_one = [await bare_sample(client, hops, n) for n in range(1, samples + 1)]
            base_many: list[float] = []
            for r in range(args.rounds):
                start = samples + 1 + r * args.concurrent
                base_many += await asyncio.gather(
                    *(bare_sample(client, hops, n) for n in range(start, start + args.concurrent))
                )
            for handle in handles:
                await handle.signal(BareOrder.finish)
    finally:
        await hops.stop()
        await admin.delete_topics([first, second])
        await admin.close()

    print()
    print(f"pay -> paid (POST /v1/orders/{{id}}/payments until order.paid is read back), {args.concurrent} at once")
    rows = (
        ("Daiko, one at a time", daiko_one),
        ("baseline, one at a time", base_one),
        (f"Daiko, {args.concurrent} at once", daiko_many),
        (f"baseline, {args.concurrent} at once", base_many),
    )
    for name, ms in rows:
        p50, p99 = statistics.median(ms), percentile(ms, 0.99)
        print(f"  {name:<26} n={len(ms):<4} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
    print("  (baseline: raw Temporal update on a bare workflow + 2 raw Kafka produce->consume hops)")
    print(f"  ratio one at a time (p50)      {statistics.median(daiko_one) / statistics.median(base_one):8.2f}x")
    print(
        f"  ratio {args.concurrent} at once (p50)       "
        f"{statistics.median(daiko_many) / statistics.median(base_many):8.2f}x"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequential", type=int, default=40, help="payments one after another (plus one warm-up)")
    parser.add_argument("--concurrent", type=int, default=20, help="payments sent at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --concurrent payments")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one payment may take")
    parser.add_argument("--quick", action="store_true", help="3 one at a time, one round of 10: does it still run?")
    args = parser.parse_args()
    if args.quick:
        args.sequential, args.concurrent, args.rounds = 4, 10, 1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
