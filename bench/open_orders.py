"""Open orders at scale: what each one costs while it waits, and whether its deadlines still fire on time.

    .venv/bin/python bench/open_orders.py N [--concurrency 16] [--sample 10] [--keep] [--quick]

``--quick`` (N = 40, 10 bare workflows, 3 moved deadlines) only proves the script still runs and
prints its ratios (``tests/bench/test_benchmarks_run.py``); its figures are too small to quote.

Needs the whole local stack (``make up``). It creates N open orders through the HTTP APIs,
each as a customer and staff make one: applied (``POST /v1/orders``, a new customer each)
and estimated (purchase) or confirmed (forward), so each is awaiting payment with live
timers (the payment deadline of R5 and its reminder). Then, at that size, it prints:

- per open order: the worker's RSS growth, the growth of Temporal's databases
  (``temporal``, ``temporal_visibility``) and of each service's database;
- the creation rate (orders/s, both steps);
- list (staff, ``status=awaiting_payment``) and detail (customer) latency, p50/p99;
- how late automatic deadlines fire: the payment deadline of ``--sample`` orders is
  moved to a few seconds from now through the staff API, and the order's own history
  says when R5 cancelled it (the workflow's clock at the timer), next to when staff
  could see it in the read model.

Baseline in the same run: bare workflows (one 7-day timer each, nothing else) started
on the same Temporal server at the same concurrency, ``min(N, 500)`` of them: their
start rate and Temporal database growth per workflow. The ratios are Daiko's figures
over the bare ones. Unless ``--keep``, the open orders are cancelled by staff at the
end and the bare workflows terminated, so the stack is left as it was (but larger).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio import workflow  # noqa: E402

Json = dict[str, Any]
TEMPORAL_DATABASES = ("temporal", "temporal_visibility")
SERVICE_DATABASES = ("orders", "deposits", "messaging")
DEADLINE_LEAD = timedelta(seconds=5)
"""How far ahead the sampled deadlines are moved: far enough that the move is recorded first."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@workflow.defn(name="BenchOpenTimer", sandboxed=False)
class OpenTimer:
    """The baseline: a workflow that only holds a 7-day timer, as an open order holds its deadline."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=7))


def worker_rss() -> int:
    """Resident bytes of the stack's order worker."""
    from daiko.settings import DaikoSettings
    from devstack.parts import all_parts

    pid = next(p.running_pid() for p in all_parts(DaikoSettings()) if p.name == "worker")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def database_sizes(settings: Any) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user, database="postgres"
    )
    try:
        names = [*TEMPORAL_DATABASES, *(getattr(settings, f"{n}_database") for n in SERVICE_DATABASES)]
        rows = await conn.fetch("SELECT datname, pg_database_size(datname) AS size FROM pg_database")
        sizes = {row["datname"]: row["size"] for row in rows}
        return {name: sizes.get(name, 0) for name in names}
    finally:
        await conn.close()


class Clients:
    """HTTP clients of the orders service, one per source address (distinct customers, distinct IPs)."""

    def __init__(self, port: int, count: int) -> None:
        self.clients = [
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                transport=httpx.AsyncHTTPTransport(local_address=f"127.0.1.{n + 1}", retries=2),
                timeout=httpx.Timeout(60.0, connect=5.0),
            )
            for n in range(count)
        ]
        self._next = 0

    def any(self) -> httpx.AsyncClient:
        self._next = (self._next + 1) % len(self.clients)
        return self.clients[self._next]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def _ok(response: Any, *statuses: int) -> Json:
    answer: httpx.Response = await response
    if answer.status_code not in (statuses or (200,)):
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}")
    body: Json = answer.json()
    return body


async def _answered(response: httpx.Response) -> httpx.Response:
    return response


async def _shows(client: httpx.AsyncClient, staff: dict[str, str], order_id: str, status: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        view = await _ok(client.get(f"/v1/staff/orders/{order_id}", headers=staff))
        if view["status"] == status:
            return True
        await asyncio.sleep(0.5)
    return False


async def create_open_orders(
    settings: Any, clients: Clients, count: int, concurrency: int
) -> tuple[list[tuple[str, str]], float]:
    """``count`` orders awaiting payment: (order id, customer id) each, and the creation rate."""
    from tests.conftest import bearer, customer_token, staff_token
    from tests.system.portal import forward_application, purchase_application

    staff = bearer(staff_token(settings))
    created: list[tuple[str, str]] = []
    retried: Counter[str] = Counter()
    todo = iter(range(count))
    began = time.perf_counter()
    last_report = began

    async def one(n: int) -> None:
        customer_id = f"bench-open-{uuid.uuid4().hex[:12]}"
        customer = bearer(customer_token(settings, customer_id))
        forward = n % 2 == 1
        application = forward_application("one_time") if forward else purchase_application("two_time")
        client = clients.any()
        key = str(uuid.uuid4())
        for _ in range(5):  # a 503 (no answer in time) is retried with the same Idempotency-Key
            applied = await client.post("/v1/orders", json=application, headers={**customer, "Idempotency-Key": key})
            if applied.status_code != 503:
                break
            retried["apply"] += 1
        order = await _ok(_answered(applied), 200, 201)
        order_id = order["order_id"]
        operation, body = (
            ("confirm-handling", {"service_fee": 500, "international_shipping": 2400})  # the one-time plan's billing
            if forward
            else ("estimate", {"service_fee": 500})
        )
        for _ in range(5):  # after a 503 staff look at the order before trying again
            answer = await client.post(f"/v1/staff/orders/{order_id}/{operation}", json=body, headers=staff)
            if answer.status_code == 200:
                break
            if answer.status_code != 503:
                raise RuntimeError(f"{operation} {order_id}: {answer.status_code} {answer.text}")
            retried[operation] += 1
            if await _shows(client, staff, order_id, "awaiting_payment", 30):
                break
        else:
            raise RuntimeError(f"{operation} {order_id}: no answer after 5 tries")
        created.append((order_id, customer_id))

    async def slot() -> None:
        nonlocal last_report
        for n in todo:
            await one(n)
            if time.perf_counter() - last_report > 30:
                last_report = time.perf_counter()
                rate = len(created) / (last_report - began)
                print(f"  … {len(created)} open orders, {rate:.1f}/s", flush=True)

    await asyncio.gather(*(slot() for _ in range(concurrency)))
    if retried:
        print(f"  retried after a 503 (no answer in time): {dict(retried)}")
    return created, len(created) / (time.perf_counter() - began)


async def read_latencies(
    settings: Any, clients: Clients, orders: list[tuple[str, str]], rounds: int
) -> tuple[list[float], list[float]]:
    from tests.conftest import bearer, customer_token, staff_token

    staff = bearer(staff_token(settings))
    lists: list[float] = []
    details: list[float] = []
    for n in range(rounds):
        began = time.perf_counter()
        await _ok(clients.any().get("/v1/staff/orders", params={"status": "awaiting_payment"}, headers=staff))
        lists.append(time.perf_counter() - began)
        order_id, customer_id = orders[(n * 7919) % len(orders)]
        began = time.perf_counter()
        await _ok(clients.any().get(f"/v1/orders/{order_id}", headers=bearer(customer_token(settings, customer_id))))
        details.append(time.perf_counter() - began)
    return lists, details


async def deadline_lateness(
    settings: Any, clients: Clients, sample: list[tuple[str, str]]
) -> tuple[list[float], list[float]]:
    """Seconds between each moved deadline and R5 firing: in the order's history, and seen in the read model."""
    from tests.conftest import bearer, staff_token

    staff = bearer(staff_token(settings))
    due: dict[str, datetime] = {}
    for order_id, _ in sample:
        when = datetime.now(UTC) + DEADLINE_LEAD
        await _ok(
            clients.any().post(
                f"/v1/staff/orders/{order_id}/move-deadline",
                json={"deadline": "payment", "due_at": when.isoformat()},
                headers=staff,
            )
        )
        due[order_id] = when
    fired: list[float] = []
    seen: list[float] = []
    deadline = time.monotonic() + 120
    while due and time.monotonic() < deadline:
        for order_id in list(due):
            view = await _ok(clients.any().get(f"/v1/staff/orders/{order_id}", headers=staff))
            if view["status"] == "canceled":
                at = datetime.fromisoformat(view["history"][-1]["at"])
                fired.append((at - due[order_id]).total_seconds())
                seen.append((datetime.now(UTC) - due[order_id]).total_seconds())
                del due[order_id]
        await asyncio.sleep(0.1)
    if due:
        raise RuntimeError(f"{len(due)} moved deadlines did not fire within 120 s")
    return fired, seen


async def cancel_all(settings: Any, clients: Clients, orders: list[tuple[str, str]], concurrency: int) -> None:
    from tests.conftest import bearer, staff_token

    staff = bearer(staff_token(settings))
    todo = iter(orders)

    async def slot() -> None:
        for order_id, _ in todo:
            answer = await clients.any().post(
                f"/v1/staff/orders/{order_id}/cancel-order", json={"reason": "benchmark over"}, headers=staff
            )
            if answer.status_code not in (200, 409):  # 409: already cancelled (the sampled deadlines)
                raise RuntimeError(f"cancel {order_id}: {answer.status_code} {answer.text}")

    await asyncio.gather(*(slot() for _ in range(concurrency)))


async def bare_baseline(settings: Any, count: int, concurrency: int) -> tuple[float, int]:
    """Start rate of bare timer workflows and Temporal's database growth per workflow; terminated after."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    queue = f"bench-open-{uuid.uuid4().hex[:6]}"
    before = await database_sizes(settings)
    handles = []
    todo = iter(range(count))
    async with Worker(client, task_queue=queue, workflows=[OpenTimer]):
        began = time.perf_counter()

        async def slot() -> None:
            for _ in todo:
                handle = await client.start_workflow(OpenTimer.run, id=f"bench-timer-{uuid.uuid4()}", task_queue=queue)
                handles.append(handle)

        await asyncio.gather(*(slot() for _ in range(concurrency)))
        rate = count / (time.perf_counter() - began)
        await asyncio.sleep(3)  # the first workflow tasks (starting the timers) complete
        after = await database_sizes(settings)
    for handle in handles:
        await handle.terminate("benchmark over")
    grown = sum(after[d] - before[d] for d in TEMPORAL_DATABASES)
    return rate, grown // max(1, count)


def kib(value: float) -> str:
    return f"{value / 1024:,.1f} KiB"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", type=int, nargs="?", default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample", type=int, default=10, help="orders whose deadline is moved to now + 5 s")
    parser.add_argument("--keep", action="store_true", help="leave the open orders open")
    parser.add_argument("--quick", action="store_true", help="40 orders: proves the script runs")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.sample, args.concurrency = 40, 3, 8
    from tests.conftest import StackSettings

    settings = StackSettings()
    clients = Clients(settings.orders_port, 64)
    try:
        rss_before, sizes_before = worker_rss(), await database_sizes(settings)
        print(f"creating {args.orders} open orders, {args.concurrency} at once")
        orders, rate = await create_open_orders(settings, clients, args.orders, args.concurrency)
        await asyncio.sleep(3)  # the last transitions are recorded, the timers started
        rss_after, sizes_after = worker_rss(), await database_sizes(settings)
        n = len(orders)
        print(f"\n{n} open orders created at {rate:.1f} orders/s (apply + estimate or confirm, over HTTP)")
        print("per open order:")
        print(f"  worker RSS         {kib((rss_after - rss_before) / n)}  (now {rss_after / 2**20:,.0f} MiB)")
        temporal_per_order = sum(sizes_after[d] - sizes_before[d] for d in TEMPORAL_DATABASES) / n
        for name in sizes_after:
            grown = (sizes_after[name] - sizes_before[name]) / n
            print(f"  database {name:<20} {kib(grown):>12}  (now {sizes_after[name] / 2**20:,.0f} MiB)")
        lists, details = await read_latencies(settings, clients, orders, 40 if args.quick else 200)
        print(f"at {n} open orders (and whatever the stack held before):")
        for what, values in (("staff list, awaiting_payment", lists), ("order detail", details)):
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            print(f"  {what:<30} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
        sample = orders[:: max(1, n // args.sample)][: args.sample]
        fired, seen = await deadline_lateness(settings, clients, sample)
        print(f"moved deadlines ({len(sample)}, due {DEADLINE_LEAD.total_seconds():.0f} s after the move):")
        print(f"  fired after due (order history)  p50 {percentile(fired, 0.5):6.2f} s  max {max(fired):6.2f} s")
        print(f"  visible to staff after due       p50 {percentile(seen, 0.5):6.2f} s  max {max(seen):6.2f} s")
        bare_count = min(n, 10 if args.quick else 500)
        bare_rate, bare_bytes = await bare_baseline(settings, bare_count, args.concurrency)
        print(
            f"\nbaseline: {bare_count} bare timer workflows started at {bare_rate:.1f}/s, {kib(bare_bytes)} of Temporal"
        )
        print(f"ratio creation rate Daiko/bare: {rate / bare_rate:.2f}x")
        print(f"ratio Temporal bytes per open order Daiko/bare: {temporal_per_order / max(1, bare_bytes):.2f}x")
        total = (
            temporal_per_order
            + sum(sizes_after[d] - sizes_before[d] for d in sizes_after if d not in TEMPORAL_DATABASES) / n
        )
        print(
            f"projection to 1,000,000 open orders: {total * 1e6 / 2**30:,.1f} GiB of PostgreSQL "
            f"({temporal_per_order * 1e6 / 2**30:,.1f} GiB of it Temporal's), "
            f"{1e6 / rate / 3600:,.1f} h to create at this rate"
        )
        if not args.keep:
            await cancel_all(settings, clients, orders, args.concurrency)
    finally:
        await clients.aclose()


if __name__ == "__main__":
    asyncio.run(main())
