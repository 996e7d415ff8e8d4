"""Whole orders through the HTTP APIs, next to a bare workflow doing the same updates and activities, in one run.

    .venv/bin/python bench/lifecycle.py [--orders 200] [--concurrency 20] [--quick]

``--quick`` (16 orders, 4 at once) only proves the script still runs and prints its
ratio (``tests/bench/test_benchmarks_run.py``); its figures are too small a sample to quote.

Needs the whole local stack (``make up``). Two phases, one after the other on the same machine:

1. Daiko: ``--orders`` complete orders, cycling through both services and both plans
   (purchase and forward, one-time and two-time payment), ``--concurrency`` at a time.
   Each order is one new customer, driven as ``tests/system/portal.py`` drives one:
   a bank pay-in confirmed by staff, the application, the estimate (purchase) or the
   handling confirmation (forward), each payment from the deposit until the order
   shows it paid (charge command, the deposits ledger, the answer through Kafka and
   the bridge), items bought and arrived, the second billing on the two-time plan,
   the shipment and the reception report, until the order is completed.
2. Bare workflow: the same number of orders on the stack's Temporal server, each a
   minimal workflow receiving the same number of updates (one per HTTP step above),
   each update running one activity that makes one asyncpg write, at the same concurrency.

Each customer slot sends from its own loopback address (127.0.0.N), as distinct
customers do, so the per-IP rate limit of the creating routes counts them apart.
Prints orders/s of both and their ratio, each step's p50/p99, and each stack
process's share of the machine's CPU during phase 1 (``/proc``, the process and its
children: PostgreSQL is its postmaster with every backend).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio import activity, workflow  # noqa: E402

Json = dict[str, Any]
KINDS = [("purchase", "one_time"), ("purchase", "two_time"), ("forward", "one_time"), ("forward", "two_time")]
BARE_QUEUE = f"bench-bare-{uuid.uuid4().hex[:6]}"
BARE_DATABASE = "bench_lifecycle"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------------------------- CPU of the stack's processes


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree[parent].append(int(entry))
    return tree


def _cpu_seconds(pid: int, tree: dict[int, list[int]]) -> float:
    """User + system CPU of the process and all its descendants alive now."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        todo += tree.get(current, [])
    return total


def stack_pids() -> dict[str, int]:
    from daiko.settings import DaikoSettings
    from devstack.parts import all_parts

    pids = {part.name: part.running_pid() for part in all_parts(DaikoSettings())}
    found = {name: pid for name, pid in pids.items() if pid}
    found["bench (client)"] = os.getpid()
    return found


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    tree = _children()
    return {name: _cpu_seconds(pid, tree) for name, pid in pids.items()}


# ----------------------------------------------------------------------------- phase 1: Daiko over HTTP


@dataclass
class Steps:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    async def timed(self, name: str, call: Awaitable[Any]) -> Any:
        began = time.perf_counter()
        result = await call
        self.timings[name].append(time.perf_counter() - began)
        return result


class Agency:
    """One customer slot's HTTP clients (own source address), and the staff's token."""

    def __init__(self, slot: int, orders_port: int, deposits_port: int, staff: dict[str, str]) -> None:
        source = f"127.0.0.{10 + slot}"
        timeout = httpx.Timeout(60.0, connect=5.0)

        def client(port: int) -> httpx.AsyncClient:
            transport = httpx.AsyncHTTPTransport(local_address=source, retries=2)
            return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=timeout)

        self.orders, self.deposits = client(orders_port), client(deposits_port)
        self.staff = staff

    async def aclose(self) -> None:
        await self.orders.aclose()
        await self.deposits.aclose()


async def _ok(response: Awaitable[httpx.Response], *statuses: int) -> Json:
    answer = await response
    if answer.status_code not in (statuses or (200,)):
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}")
    body: Json = answer.json()
    return body


async def _until(
    read: Callable[[], Awaitable[Json]], check: Callable[[Json], bool], what: str, *, timeout: float = 120
) -> Json:
    deadline = time.monotonic() + timeout
    while True:
        view = await read()
        if check(view):
            return view
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout:.0f} s: status {view['status']}")
        await asyncio.sleep(0.05)


def _application(service: str, plan: str) -> Json:
    from tests.system.portal import forward_application, purchase_application

    return forward_application(plan) if service == "forward" else purchase_application(plan)


async def one_order(agency: Agency, settings: Any, service: str, plan: str, steps: Steps) -> None:
    """One complete order, every step over HTTP as the customer and staff do it."""
    from tests.conftest import bearer, customer_token

    customer = bearer(customer_token(settings, f"bench-life-{uuid.uuid4().hex[:12]}"))
    staff = agency.staff

    async def fund() -> None:
        report = await _ok(
            agency.deposits.post(
                "/v1/deposit/pay-in-reports",
                json={"amount": 50_000, "transfer_date": datetime.now(UTC).date().isoformat(), "sender_name": "BENCH"},
                headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        await _ok(
            agency.deposits.post(
                f"/v1/staff/pay-in-reports/{report['id']}/confirm",
                json={},
                headers={**staff, "Idempotency-Key": str(uuid.uuid4())},
            )
        )

    async def view() -> Json:
        return await _ok(agency.orders.get(f"/v1/staff/orders/{order_id}", headers=staff))

    async def op(name: str, body: Json) -> Json:
        """A staff operation; after a 503 (no answer in time) staff look at the order before trying again."""
        for _ in range(5):
            before = known["version"]
            answer = await agency.orders.post(f"/v1/staff/orders/{order_id}/{name}", json=body, headers=staff)
            if answer.status_code == 200:
                done: Json = answer.json()
                known["version"] = done["version"]
                return done
            if answer.status_code != 503:
                raise RuntimeError(f"{name} on {order_id}: {answer.status_code} {answer.text}")
            steps.retries[name] += 1
            try:
                taken = await _until(
                    view, lambda v, before=before: v["version"] > before, f"{name} recorded", timeout=30
                )
                known["version"] = taken["version"]
                return taken
            except RuntimeError:
                continue
        raise RuntimeError(f"{name} on {order_id}: no answer after 5 tries")

    async def pay(seq: int) -> Json:
        current = await view()
        bill = next(b for b in current["billings"] if b["seq"] == seq)
        while bill["status"] not in ("charging", "paid"):
            answer = await agency.orders.post(
                f"/v1/orders/{order_id}/payments",
                json={"billing_seq": seq, "revision": bill["revision"]},
                headers=customer,
            )
            if answer.status_code == 202:
                break
            if answer.status_code != 503:
                raise RuntimeError(f"paying {seq} of {order_id}: {answer.status_code} {answer.text}")
            steps.retries[f"pay {seq}"] += 1
            await asyncio.sleep(1)  # as the customer does: look at the order again before pressing again
            bill = next(b for b in (await view())["billings"] if b["seq"] == seq)
        paid = await _until(
            view, lambda v: next(b for b in v["billings"] if b["seq"] == seq)["status"] == "paid", f"payment {seq}"
        )
        known["version"] = paid["version"]
        return paid

    await steps.timed("fund (pay-in + confirm)", fund())
    created = await steps.timed(
        "apply",
        _ok(
            agency.orders.post(
                "/v1/orders",
                json=_application(service, plan),
                headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
            ),
            200,
            201,
        ),
    )
    order_id = created["order_id"]
    known = {"version": created.get("version", 0)}
    one_time = plan == "one_time"
    shipping = {"international_shipping": 2400} if one_time else {}
    if service == "purchase":
        current = await steps.timed(
            "estimate", op("estimate", {"domestic_shipping": 800, "service_fee": 500, **shipping})
        )
    else:
        current = await steps.timed("confirm-handling", op("confirm-handling", {"service_fee": 500, **shipping}))
    await steps.timed("pay 1 (until paid)", pay(1))
    items = [item["item_id"] for item in current["items"]]
    if service == "purchase":
        for item_id in items:
            await steps.timed("item-purchased", op("item-purchased", {"item_id": item_id}))
    for item_id in items:
        current = await steps.timed("item-arrived", op("item-arrived", {"item_id": item_id}))
    if not one_time:
        await steps.timed("issue-second-billing", op("issue-second-billing", {"international_shipping": 2400}))
        await steps.timed("pay 2 (until paid)", pay(2))
    await steps.timed(
        "ship", op("ship", {"method": "EMS", "carrier": "Japan Post", "tracking_numbers": ["EM123456789JP"]})
    )
    done = await steps.timed(
        "reception-report",
        _ok(
            agency.orders.post(
                f"/v1/orders/{order_id}/reception-report", json={"received_fine": True}, headers=customer
            )
        ),
    )
    if done["status"] != "completed":
        raise RuntimeError(f"order {order_id} ended {done['status']}")


async def run_daiko(orders: int, concurrency: int) -> tuple[float, Steps, dict[str, float], float]:
    from tests.conftest import StackSettings, bearer, staff_token

    settings = StackSettings()
    staff = bearer(staff_token(settings))
    agencies = [Agency(slot, settings.orders_port, settings.deposits_port, staff) for slot in range(concurrency)]
    steps = Steps()
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for n in range(orders):
        queue.put_nowait(KINDS[n % len(KINDS)])

    async def slot(agency: Agency) -> None:
        while not queue.empty():
            service, plan = queue.get_nowait()
            await one_order(agency, settings, service, plan, steps)

    pids = stack_pids()
    before = cpu_snapshot(pids)
    began = time.perf_counter()
    try:
        await asyncio.gather(*(slot(agency) for agency in agencies))
    finally:
        for agency in agencies:
            await agency.aclose()
    elapsed = time.perf_counter() - began
    after = cpu_snapshot(pids)
    shares = {name: (after[name] - before.get(name, 0.0)) / elapsed for name in after}
    return orders / elapsed, steps, shares, elapsed


# ----------------------------------------------------------------------------- phase 2: the bare workflow


@dataclass
class BareStep:
    name: str


_pool: Any = None


@activity.defn(name="bench_bare_write")
async def bare_write(step: str) -> None:
    """One asyncpg write, as the record of a transition would make."""
    await _pool.execute("INSERT INTO bench_steps (step, at) VALUES ($1, now())", step)


@workflow.defn(name="BenchBareOrder", sandboxed=False)
class BareOrder:
    """An order with no rules: each update runs one activity (one row written), the last one ends it."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.finished)

    @workflow.update
    async def step(self, name: str) -> str:
        await workflow.execute_activity(bare_write, name, start_to_close_timeout=timedelta(seconds=10))
        return name

    @workflow.update
    async def last(self, name: str) -> str:
        await workflow.execute_activity(bare_write, name, start_to_close_timeout=timedelta(seconds=10))
        self.finished = True
        return name


def steps_per_order(service: str, plan: str) -> int:
    """HTTP steps of ``one_order`` (funding counts two: the report and its confirmation)."""
    items = 2 if service == "purchase" else 1
    purchased = items if service == "purchase" else 0
    second = 0 if plan == "one_time" else 2
    return 2 + 1 + 1 + 1 + purchased + items + second + 1 + 1


async def run_bare(orders: int, concurrency: int) -> float:
    import asyncpg
    from temporalio.client import Client
    from temporalio.worker import Worker

    from daiko.settings import DaikoSettings

    global _pool
    settings = DaikoSettings()
    admin = await asyncpg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user, database="postgres"
    )
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BARE_DATABASE):
        await admin.execute(f'CREATE DATABASE "{BARE_DATABASE}"')
    _pool = await asyncpg.create_pool(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        database=BARE_DATABASE,
        min_size=2,
        max_size=10,
    )
    await _pool.execute("CREATE TABLE IF NOT EXISTS bench_steps (id bigserial PRIMARY KEY, step text, at timestamptz)")
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    kinds = [KINDS[n % len(KINDS)] for n in range(orders)]
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)

    async def slot() -> None:
        while not queue.empty():
            service, plan = queue.get_nowait()
            handle = await client.start_workflow(BareOrder.run, id=f"bench-bare-{uuid.uuid4()}", task_queue=BARE_QUEUE)
            count = steps_per_order(service, plan)
            for n in range(count - 1):
                await handle.execute_update(BareOrder.step, f"step {n}")
            await handle.execute_update(BareOrder.last, "last")
            await handle.result()

    try:
        async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareOrder], activities=[bare_write]):
            began = time.perf_counter()
            await asyncio.gather(*(slot() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
    finally:
        await _pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{BARE_DATABASE}" WITH (FORCE)')
        await admin.close()
    return orders / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="16 orders, 4 at once: proves the script runs")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.concurrency = 16, 4
    print(f"{args.orders} orders ({', '.join('/'.join(k) for k in KINDS)} in turn), {args.concurrency} at once")
    rate, steps, shares, elapsed = await run_daiko(args.orders, args.concurrency)
    print(f"\nDaiko over HTTP: {rate:.2f} orders/s ({elapsed:.1f}s)")
    print(f"  {'step':<26} {'count':>6} {'p50 ms':>9} {'p99 ms':>9}")
    for name, values in steps.timings.items():
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        print(f"  {name:<26} {len(values):>6} {p50:>9.1f} {p99:>9.1f}")
    if steps.retries:
        print(f"  retried after a 503 (no answer in time): {dict(steps.retries)}")
    cores = os.cpu_count() or 1
    print(f"  CPU share of the machine ({cores} cores) while it ran:")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<16} {share * 100 / cores:5.1f}%  ({share:.2f} cores)")
    mean_steps = statistics.mean(steps_per_order(*KINDS[n % len(KINDS)]) for n in range(args.orders))
    bare = await run_bare(args.orders, args.concurrency)
    print(
        f"\nbare workflow: {bare:.2f} orders/s ({mean_steps:.1f} updates per order, one activity + asyncpg write each)"
    )
    print(f"ratio Daiko/bare orders/s: {rate / bare:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
