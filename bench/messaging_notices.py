"""How long from an order event on Kafka to its system notice being readable through the messaging API.

Runs against the local stack (``daiko-stack up``):

    .venv/bin/python bench/messaging_notices.py [--count 200] [--max-seconds 120] [--quick]

``--quick`` (24 events, at most 30 s) only proves the script still runs and prints its ratio.

Each round puts the next event of an order's life (estimate, payment, item
purchased, arrival, shipment, completion; then a fresh order) on
``daiko.orders.events.v1`` and polls ``GET /v1/orders/{id}/messages`` (as the
order's customer) until its notice is there. An order's first event is
reported apart: it also creates the thread and settles pending messages. In the same
run, a plain Kafka consumer reading the same topic records when it saw each
event: that produce→consume time is the baseline (what any consumer pays
before doing any work), and the notice latency is printed as a ratio of it.
The read cost of the API alone (GET of a thread that already has its notice)
is printed too, and so is the time until the notice's ``message.posted`` is
consumable on ``daiko.messaging.events.v1`` (the consumer's transaction, then
the messaging outbox relay, woken by that commit). Rounds run one at a time,
so latencies are not queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.topics import topic
from daiko.auth import Role, mint_token
from daiko.events import MESSAGING_EVENTS, ORDERS_EVENTS, Envelope
from daiko.kafka import KafkaConnection, admin_connection, client_options, connection, service_connection
from daiko.settings import KafkaAdminSettings
from services.messaging.settings import MessagingSettings
from services.orders.settings import OrdersSettings

ORDER_EVENTS = topic(ORDERS_EVENTS)

BILLING = {
    "seq": 1,
    "kind": "single",
    "revision": 1,
    "lines": [{"kind": "item", "description": "Blue mug x 1", "amount": 4200, "item_id": "1"}],
    "total": 4200,
    "issued_at": "2029-12-25T00:00:00Z",
}

# One order's life in six notices; each round sends the next event, then a new order starts.
LIFECYCLE: list[tuple[str, str, dict[str, Any]]] = [
    (
        "order.estimated",
        "awaiting_payment",
        {"billing": BILLING, "due_at": "2030-01-01T00:00:00+00:00", "contact": "estimate", "re_estimate": False},
    ),
    ("order.paid", "purchasing", {"billing_seq": 1, "revision": 1, "amount": 4200}),
    ("order.item_updated", "purchasing", {"item_id": "1", "name": "Blue mug", "item_status": "purchased"}),
    ("order.arrived", "preparing_shipment", {}),
    (
        "order.shipped",
        "shipped",
        {
            "method": "EMS",
            "carrier": "Japan Post",
            "tracking_numbers": ["EJ1"],
            "completes_at": "2030-02-01T00:00:00+00:00",
        },
    ),
    ("order.completed", "completed", {"completed_by": "reception_report"}),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<34} n={len(ms):<4} p50={percentile(ms, 50):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
        f"max={max(ms):7.1f} ms"
    )


class KafkaWitness:
    """A bare consumer on the orders topic: when did each event become consumable?"""

    def __init__(self, kafka: KafkaConnection) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, producer: AIOKafkaProducer) -> None:
        partitions = await producer.partitions_for(ORDERS_EVENTS)
        await self.consumer.start()
        assigned = [TopicPartition(ORDERS_EVENTS, p) for p in partitions]
        self.consumer.assign(assigned)
        await self.consumer.seek_to_end(*assigned)
        for tp in assigned:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    self.seen[Envelope.from_bytes(record.value).id] = now

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


class PostedWitness:
    """A bare consumer on the messaging topic: when did each order's ``message.posted`` events arrive?"""

    def __init__(self, kafka: KafkaConnection) -> None:
        self.kafka = kafka
        self.consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
        self.posted: dict[str, list[float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        metadata = AIOKafkaProducer(**client_options(self.kafka))  # the partitions, read with this client's rights
        await metadata.start()
        try:
            partitions = await metadata.partitions_for(MESSAGING_EVENTS)
        finally:
            await metadata.stop()
        await self.consumer.start()
        assigned = [TopicPartition(MESSAGING_EVENTS, p) for p in partitions]
        self.consumer.assign(assigned)
        await self.consumer.seek_to_end(*assigned)
        for tp in assigned:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    event = Envelope.from_bytes(record.value)
                    order_id = event.data.get("order_id")
                    if event.type == "message.posted" and isinstance(order_id, str) and order_id.startswith("bench-"):
                        self.posted.setdefault(order_id, []).append(now)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="events to measure (default 200)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop measuring after this long")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up on one notice after this long")
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute: does it still run?")
    args = parser.parse_args()
    if args.quick:
        args.count, args.max_seconds, args.timeout = 24, 30.0, 20.0

    settings = MessagingSettings()
    base = f"http://127.0.0.1:{settings.messaging_port}"
    # It stands in for the orders service's events, and reads them back as messaging does.
    producer = AIOKafkaProducer(
        **client_options(connection(settings, OrdersSettings().kafka_login)), acks="all", linger_ms=0
    )
    await producer.start()
    witness = KafkaWitness(service_connection(settings))
    await witness.start(producer)
    # Messaging's own principal may not read what it writes: the setup admin reads the messaging topic.
    posted = PostedWitness(admin_connection(KafkaAdminSettings()))
    await posted.start()
    notice_latency: list[float] = []
    first_latency: list[float] = []
    later_latency: list[float] = []
    kafka_latency: list[float] = []
    read_latency: list[float] = []
    posted_latency: list[float] = []
    lost = 0
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=10) as api:
        if (await api.get("/readyz")).status_code != 200:
            print(f"messaging is not ready at {base}; run `daiko-stack up`", file=sys.stderr)
            return 1
        order_id, customer, headers, step = "", "", {}, len(LIFECYCLE)
        for _ in range(args.count):
            if time.perf_counter() - began > args.max_seconds:
                break
            if step == len(LIFECYCLE):  # next order
                order_id = f"bench-{uuid.uuid4().hex[:16]}"
                customer = f"bench-cust-{uuid.uuid4().hex[:8]}"
                headers = {"Authorization": f"Bearer {mint_token(settings, subject=customer, role=Role.CUSTOMER)}"}
                step = 0
            event_type, status, extra = LIFECYCLE[step]
            step += 1
            event = Envelope(
                type=event_type,
                source="daiko/orders",
                subject=order_id,
                time=datetime.now(UTC),
                data=ORDER_EVENTS.parse(
                    event_type, {"order_id": order_id, "customer_id": customer, "status": status} | extra
                ).to_data(),
            )
            sent = time.perf_counter()
            await producer.send_and_wait(ORDERS_EVENTS, event.to_bytes(), key=order_id.encode())
            url = f"/v1/orders/{order_id}/messages"
            visible = None
            while time.perf_counter() - sent < args.timeout:
                response = await api.get(url, headers=headers)
                if response.status_code == 200 and len(response.json()["messages"]) >= step:
                    visible = time.perf_counter()
                    break
                await asyncio.sleep(0.002)
            if visible is None:
                lost += 1
                continue
            (first_latency if step == 1 else later_latency).append(visible - sent)
            notice_latency.append(visible - sent)
            t = time.perf_counter()
            await api.get(url, headers=headers)
            read_latency.append(time.perf_counter() - t)
            while event.id not in witness.seen and time.perf_counter() - sent < args.timeout:
                await asyncio.sleep(0.001)
            if event.id in witness.seen:
                kafka_latency.append(witness.seen[event.id] - sent)
            while len(posted.posted.get(order_id, [])) < step and time.perf_counter() - sent < args.timeout:
                await asyncio.sleep(0.001)
            if len(arrivals := posted.posted.get(order_id, [])) >= step:
                posted_latency.append(arrivals[step - 1] - sent)
    await witness.stop()
    await posted.stop()
    await producer.stop()

    elapsed = time.perf_counter() - began
    if not notice_latency or not kafka_latency:
        print("no notice became visible; is the messaging consumer running?", file=sys.stderr)
        return 1
    print(f"messaging notices benchmark: {len(notice_latency)} events in {elapsed:.1f}s, {lost} not seen in time")
    print(summary("event -> notice readable via API", notice_latency))
    print(summary("  of which an order's first event", first_latency))
    print(summary("  of which later events", later_latency))
    print(summary("baseline: Kafka produce -> consume", kafka_latency))
    print(summary("baseline: one API read", read_latency))
    if posted_latency:
        print(summary("event -> message.posted on Kafka", posted_latency))
    p50 = statistics.median(notice_latency) / statistics.median(kafka_latency)
    p99 = percentile(notice_latency, 99) / percentile(kafka_latency, 99)
    print(f"ratio notice / raw Kafka: p50 {p50:.1f}x  p99 {p99:.1f}x")
    if posted_latency:
        p50 = statistics.median(posted_latency) / statistics.median(kafka_latency)
        p99 = percentile(posted_latency, 99) / percentile(kafka_latency, 99)
        print(f"ratio message.posted / raw Kafka (two hops and the relay): p50 {p50:.1f}x  p99 {p99:.1f}x")
    return 0 if lost == 0 else 2


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
