"""Benchmark: GET /v1/orders/{id} (the order-details page) on a read model of 10,000 orders.

    .venv/bin/python bench/orders_read.py [--orders 10000] [--requests 4000] [--concurrency 32] [--quick]

``--quick`` (500 orders, 400 requests per app in 2 rounds, 10 s per round) only proves the
script still runs and prints its ratio.

Needs the local stack's PostgreSQL (``daiko-stack up postgres``) with the
orders migrations applied. It inserts the orders straight into the read model
(customer ids ``bench-…``, removed afterwards unless ``--keep``), then serves
two apps the same way - one uvicorn process each, on loopback, access log off:

* the orders service itself (``services.orders.app:app``; deposit bridge and thread copy off),
  doing what a real request does: JWT check, one statement that reads the view
  with its message thread (each bench order has ``MESSAGES_PER_ORDER`` messages
  in the orders' copy, some unread), and the answer sent (``services/orders/details.py``);
* a bare FastAPI endpoint answering the same JSON from memory (no auth, no DB).

Both are driven by the same client at the same concurrency, alternating
rounds so both see the same machine; it prints requests/s, p50 and p99 of
each and the orders/bare ratio. Bounded: ``--requests`` per app, and each
round stops after ``--seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER_PREFIX = "bench-"
ORDER_PREFIX = "BENCH-"
MESSAGES_PER_ORDER = 8
SAMPLE_VIEW_FILE = "DAIKO_BENCH_SAMPLE_VIEW"

# ----------------------------------------------------------------------------- the bare app (its own process)

bare_app = FastAPI()
_BARE_BODY = Path(os.environ[SAMPLE_VIEW_FILE]).read_bytes() if os.environ.get(SAMPLE_VIEW_FILE) else b"{}"


@bare_app.get("/v1/orders/{order_id}")
async def bare_order(order_id: str) -> Response:
    return Response(content=_BARE_BODY, media_type="application/json")


@bare_app.get("/healthz")
async def bare_health() -> dict[str, str]:
    return {"status": "ok"}


# ----------------------------------------------------------------------------- the read model


def sample_view(order_id: str, customer_id: str) -> dict[str, Any]:
    """A realistic R1 view: a two-time purchase order with three items, estimated, awaiting payment."""
    from datetime import UTC, datetime

    sys.path.insert(0, str(ROOT))
    from workflows.models import (
        DeliveryAddress,
        EstimateRequest,
        ItemRequest,
        OrderApplication,
        PaymentPlan,
        ServiceType,
    )
    from workflows.order_state import Order
    from workflows.rules import billing

    application = OrderApplication(
        order_id=order_id,
        customer_id=customer_id,
        service_type=ServiceType.PURCHASE,
        payment_plan=PaymentPlan.TWO_TIME,
        delivery_address=DeliveryAddress(
            name="Alex Martin", country="FR", postal_code="75011", address_lines=["12 rue Oberkampf"], phone="+33 6"
        ),
        items=[
            ItemRequest(
                name=f"figure {n}", shop_or_url=f"https://shop.example/{n}", quantity=n, unit_price_estimate=n * 990
            )
            for n in (1, 2, 3)
        ],
    )
    now = datetime.now(UTC)
    order = Order.open(application, now)
    billing.estimate(order, EstimateRequest(domestic_shipping=800, service_fee=500), now, "staff:bench")
    view: dict[str, Any] = order.view().model_dump(mode="json")
    return view


async def seed(count: int) -> tuple[list[tuple[str, str]], bytes]:
    """Insert ``count`` orders (10 per customer); returns (order id, customer id) pairs and one view's JSON."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.dialects.postgresql import insert

    from daiko.db import make_engine
    from services.orders.db import OrderMessage, OrderMessageReads, OrderRecord
    from services.orders.details import MESSAGES_SHOWN
    from services.orders.settings import OrdersSettings

    settings = OrdersSettings()
    engine = make_engine(settings.database_url(settings.orders_database))
    messages: list[dict[str, Any]] = []
    template = sample_view("BENCH-0", f"{CUSTOMER_PREFIX}0")
    start = datetime.now(UTC) - timedelta(days=30)
    pairs = [(f"{ORDER_PREFIX}{n:06d}", f"{CUSTOMER_PREFIX}{n // 10:05d}") for n in range(count)]
    async with engine.begin() as conn:
        for chunk in range(0, count, 1000):
            rows = []
            for n, (order_id, customer_id) in enumerate(pairs[chunk : chunk + 1000], start=chunk):
                view = {**template, "order_id": order_id, "customer_id": customer_id}
                created = start + timedelta(seconds=n)
                rows.append(
                    {
                        "order_id": order_id,
                        "customer_id": customer_id,
                        "status": view["status"],
                        "service_type": view["service_type"],
                        "payment_plan": view["payment_plan"],
                        "next_deadline": datetime.fromisoformat(view["next_deadline"])
                        if view["next_deadline"]
                        else None,
                        "created_at": created,
                        "updated_at": created,
                        "version": 2,
                        "view": view,
                    }
                )
            await conn.execute(insert(OrderRecord).values(rows).on_conflict_do_nothing())
            messages = [
                {
                    "message_id": f"{row['order_id']}-m{seq}",
                    "order_id": row["order_id"],
                    "seq": seq,
                    "author_role": ("system", "customer", "staff")[seq % 3],
                    "kind": "notice" if seq % 3 == 0 else "message",
                    "notice_type": "order.estimated" if seq % 3 == 0 else None,
                    "body": f"message {seq} about the order: " + "lorem ipsum " * 10,
                    "attachment_count": 0,
                    "posted_at": row["created_at"] + timedelta(minutes=seq),
                }
                for row in rows
                for seq in range(1, MESSAGES_PER_ORDER + 1)
            ]
            for part in range(0, len(messages), 2000):  # a statement binds at most 32,767 values
                await conn.execute(insert(OrderMessage).values(messages[part : part + 2000]).on_conflict_do_nothing())
            reads = [{"order_id": row["order_id"], "customer_read_seq": MESSAGES_PER_ORDER // 2} for row in rows]
            await conn.execute(insert(OrderMessageReads).values(reads).on_conflict_do_nothing())
    await engine.dispose()
    # The bare app answers as many bytes as the orders service does: the view with its thread section.
    latest = [
        {**message, "posted_at": message["posted_at"].isoformat()} for message in reversed(messages[-MESSAGES_SHOWN:])
    ]
    thread = {"latest": latest, "count": MESSAGES_PER_ORDER, "unread_count": 3, "href": "/v1/orders/x/messages"}
    return pairs, json.dumps({**template, "messages": thread}).encode()


async def unseed() -> None:
    from sqlalchemy import delete

    from daiko.db import make_engine
    from services.orders.db import OrderMessage, OrderMessageReads, OrderRecord
    from services.orders.settings import OrdersSettings

    settings = OrdersSettings()
    engine = make_engine(settings.database_url(settings.orders_database))
    async with engine.begin() as conn:
        await conn.execute(delete(OrderMessage).where(OrderMessage.order_id.startswith(ORDER_PREFIX)))
        await conn.execute(delete(OrderMessageReads).where(OrderMessageReads.order_id.startswith(ORDER_PREFIX)))
        await conn.execute(delete(OrderRecord).where(OrderRecord.customer_id.startswith(CUSTOMER_PREFIX)))
    await engine.dispose()


# ----------------------------------------------------------------------------- servers and load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(app: str, port: int, env: dict[str, str], app_dir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def wait_healthy(port: int, timeout: float = 120) -> None:  # a busy machine imports slowly
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status = await _get(reader, writer, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            writer.close()
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server on port {port} did not start")
        await asyncio.sleep(0.2)


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.errors += other.errors

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 GET; returns the status. A minimal client, so the servers are what is measured."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def load(
    port: int, targets: list[tuple[str, str]], requests: int, concurrency: int, max_seconds: float
) -> Sample:
    """``requests`` GETs from ``concurrency`` connections, each request timed from send to last byte."""
    sample = Sample()
    queue = iter(random.choices(targets, k=requests))
    stop_at = time.monotonic() + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for path, authorization in queue:
                if time.monotonic() > stop_at:
                    return
                request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n\r\n").encode()
                began = time.perf_counter()
                status = await _get(reader, writer, request)
                sample.latencies.append(time.perf_counter() - began)
                if status != 200:
                    sample.errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.seconds = time.perf_counter() - began
    return sample


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=4000, help="measured requests per app")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per app")
    parser.add_argument("--seconds", type=float, default=30, help="time limit of each round")
    parser.add_argument("--keep", action="store_true", help="keep the bench orders in the read model")
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute: does it still run?")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.requests, args.rounds, args.seconds = 500, 400, 2, 10.0

    sys.path.insert(0, str(ROOT))
    from daiko.auth import Role, mint_token
    from services.orders.settings import OrdersSettings

    print(f"seeding {args.orders} orders into the read model ...", flush=True)
    pairs, body = await seed(args.orders)
    sample_file = ROOT / ".daiko" / "bench-sample-view.json"
    sample_file.parent.mkdir(exist_ok=True)
    sample_file.write_bytes(body)

    settings = OrdersSettings()
    tokens: dict[str, str] = {}
    for _, customer in pairs:
        if customer not in tokens:
            tokens[customer] = f"Bearer {mint_token(settings, subject=customer, role=Role.CUSTOMER)}"
    targets = [(f"/v1/orders/{order_id}", tokens[customer]) for order_id, customer in pairs]

    env = {
        **os.environ,
        "DAIKO_DEPOSIT_BRIDGE_ENABLED": "false",
        "DAIKO_THREAD_COPY_ENABLED": "false",  # the bench's threads are seeded; the copy's consumer is not a read
        # The bench's orders have no workflows: the halt sweep would halt each one, which is not a read.
        "DAIKO_HALT_SWEEP_ENABLED": "false",
        "DAIKO_LOG_LEVEL": "WARNING",
        SAMPLE_VIEW_FILE: str(sample_file),
    }
    orders_port, bare_port = free_port(), free_port()
    servers = [
        serve("services.orders.app:app", orders_port, env, ROOT),
        serve("orders_read:bare_app", bare_port, env, ROOT / "bench"),
    ]
    try:
        await asyncio.gather(wait_healthy(orders_port), wait_healthy(bare_port))
        apps = {"orders": orders_port, "bare": bare_port}
        for port in apps.values():  # warm up: connection pools, lazy imports, PostgreSQL's cache
            await load(port, targets, 500, args.concurrency, args.seconds)
        results = {name: Sample() for name in apps}
        per_round = max(1, args.requests // args.rounds)
        for _ in range(args.rounds):
            for name, port in apps.items():
                results[name].add(await load(port, targets, per_round, args.concurrency, args.seconds))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=15)
        if not args.keep:
            await unseed()

    print(
        f"\nGET /v1/orders/{{id}}: {args.orders} orders in the read model, {len(body)} bytes per view, "
        f"concurrency {args.concurrency}, one uvicorn process per app, loopback\n"
    )
    print(f"{'app':<8} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, sample in results.items():
        print(
            f"{name:<8} {len(sample.latencies):>9} {sample.errors:>7} {sample.rps:>9.0f} "
            f"{sample.percentile(0.50):>8.2f} {sample.percentile(0.99):>8.2f}"
        )
    orders, bare = results["orders"], results["bare"]
    print(
        f"\nratio orders / bare: throughput {orders.rps / bare.rps:.2f}x, "
        f"p50 {orders.percentile(0.5) / bare.percentile(0.5):.2f}x, "
        f"p99 {orders.percentile(0.99) / bare.percentile(0.99):.2f}x"
    )
    if orders.errors or bare.errors:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    asyncio.run(main())
