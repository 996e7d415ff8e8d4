"""Open orders at scale: what each one costs while it waits, and whether its deadlines still fire on time.

    .venv/bin/python bench/open_orders.py N [--concurrency 32] [--checkpoints 2000,10000,…]
        [--sample 50] [--lead 120] [--keep] [--quick]

``--quick`` (N = 16 with a checkpoint at 8, 10 bare workflows, 3 moved deadlines due 3 s ahead)
only proves the script still runs and prints its ratios (``tests/bench/test_benchmarks_run.py``); its
figures are too small to quote. The long run (100,000 and more) is meant for ``nohup`` with
``--keep`` (cancelling 100,000 orders afterwards takes as long as creating them), see docs/capacity.md.

Needs the whole local stack (``make up``). It creates N open orders through the HTTP APIs,
each as a customer and staff make one: applied (``POST /v1/orders``, a new customer each)
and estimated (purchase) or confirmed (forward), so each is awaiting payment with live
timers (the payment deadline of R5 and its reminder), ``--concurrency`` at a time.

Creation stops at each checkpoint (the sizes of ``--checkpoints`` below N, then N) and the
script prints, at that size:

- per open order: the worker's RSS growth, the growth of Temporal's databases
  (``temporal``, ``temporal_visibility``) and of each service's database;
- the creation rate (orders/s, both steps) of the segment, and each stack process's CPU
  share while it ran (what limits creation);
- list (staff, ``status=awaiting_payment``) and detail (customer) latency, p50/p99, with
  creation paused;
- how late automatic deadlines fire: the payment deadline of ``--sample`` orders awaiting payment, spread over
  all the stack holds (most of them long evicted from the worker's cache), is moved through the
  staff API to ``--lead`` seconds ahead (spread over a twelfth of it), and the read model is
  watched: the order's own history says when R5 cancelled it (the workflow's clock in the task
  that handled the timer), the read model when staff could see it. At a checkpoint below N they
  fire while the next segment is being created (under load); at N, with the stack otherwise idle.

Baseline in the same run: bare workflows (one 7-day timer each, nothing else) started
on the same Temporal server at the same concurrency, ``min(N, 500)`` of them: their
start rate and Temporal database growth per workflow. The ratios are Daiko's figures
over the bare ones. Unless ``--keep``, the open orders are cancelled by staff at the
end and the bare workflows terminated, so the stack is left as it was (but larger).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio import workflow  # noqa: E402

Json = dict[str, Any]
TEMPORAL_DATABASES = ("temporal", "temporal_visibility")
SERVICE_DATABASES = ("orders", "deposits", "messaging")
DUE_SPREAD = 1 / 12
"""The sampled deadlines fall due one after another over this share of ``--lead`` (10 s of the default 120 s),
as real ones do, not all in one instant."""
DEFAULT_CHECKPOINTS = (2_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
ATTEMPTS = 10
"""Tries of one creating call that answers 503 (Temporal's answer late under saturation) before the run gives up."""
FIRE_WAIT = timedelta(seconds=120)
"""How long after the last due time a moved deadline may take before the run says it did not fire."""


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


async def _connect(settings: Any, database: str) -> Any:
    import asyncpg

    return await asyncpg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        database=database,
    )


async def database_sizes(settings: Any) -> dict[str, int]:
    conn = await _connect(settings, "postgres")
    try:
        names = [*TEMPORAL_DATABASES, *(getattr(settings, f"{n}_database") for n in SERVICE_DATABASES)]
        rows = await conn.fetch("SELECT datname, pg_database_size(datname) AS size FROM pg_database")
        sizes = {row["datname"]: row["size"] for row in rows}
        return {name: sizes.get(name, 0) for name in names}
    finally:
        await conn.close()


async def open_in_stack(settings: Any) -> int:
    """Orders awaiting payment in the read model: this run's and any an earlier ``--keep`` run left."""
    conn = await _connect(settings, settings.orders_database)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'awaiting_payment'")
        return count
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
    """Whether staff see the order in ``status`` within ``within`` s; a 503 or a lost connection is asked again."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            answer = await client.get(f"/v1/staff/orders/{order_id}", headers=staff)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code != 503 and (await _ok(_answered(answer)))["status"] == status:
            return True
        await asyncio.sleep(0.5)
    return False


async def _sent(call: Callable[[], Awaitable[httpx.Response]], what: str) -> Json:
    """``call``'s answer, asked up to 5 times while it is a 503 (no answer in time) or the connection is lost."""
    for _ in range(5):
        try:
            answer = await call()
        except httpx.TransportError:
            continue
        if answer.status_code != 503:
            return await _ok(_answered(answer))
        await asyncio.sleep(1)
    raise RuntimeError(f"{what}: no answer after 5 tries")


async def create_open_orders(
    settings: Any, clients: Clients, count: int, concurrency: int, created: list[tuple[str, str]]
) -> float:
    """``count`` more orders awaiting payment, appended to ``created`` as (order id, customer id); their rate."""
    from tests.conftest import bearer, customer_token, staff_token
    from tests.system.portal import forward_application, purchase_application

    staff = bearer(staff_token(settings))
    retried: Counter[str] = Counter()
    todo = iter(range(len(created), len(created) + count))
    began = time.perf_counter()
    first = len(created)
    last_report, last_count = began, first

    async def one(n: int) -> None:
        customer_id = f"bench-open-{uuid.uuid4().hex[:12]}"
        customer = bearer(customer_token(settings, customer_id))
        forward = n % 2 == 1
        application = forward_application("one_time") if forward else purchase_application("two_time")
        client = clients.any()
        key = str(uuid.uuid4())
        for _ in range(ATTEMPTS):  # a 503 (no answer in time) or a lost connection: again, same Idempotency-Key
            try:
                applied = await client.post(
                    "/v1/orders", json=application, headers={**customer, "Idempotency-Key": key}
                )
            except httpx.TransportError as lost:
                retried[f"apply ({type(lost).__name__})"] += 1
                continue
            if applied.status_code != 503:
                break
            retried["apply"] += 1
        else:
            raise RuntimeError(f"apply for {customer_id}: no answer after {ATTEMPTS} tries")
        order = await _ok(_answered(applied), 200, 201)
        order_id = order["order_id"]
        operation, body = (
            ("confirm-handling", {"service_fee": 500, "international_shipping": 2400})  # the one-time plan's billing
            if forward
            else ("estimate", {"service_fee": 500})
        )
        for _ in range(ATTEMPTS):  # after a 503 or a lost connection staff look at the order, then try again
            try:
                answer = await client.post(f"/v1/staff/orders/{order_id}/{operation}", json=body, headers=staff)
            except httpx.TransportError as lost:
                retried[f"{operation} ({type(lost).__name__})"] += 1
            else:
                if answer.status_code == 200:
                    break
                if answer.status_code != 503:  # e.g. 409 after a lost answer: it may have been taken the first time
                    if await _shows(client, staff, order_id, "awaiting_payment", 1):
                        break
                    raise RuntimeError(f"{operation} {order_id}: {answer.status_code} {answer.text}")
                retried[operation] += 1
            if await _shows(client, staff, order_id, "awaiting_payment", 30):
                break
        else:
            raise RuntimeError(f"{operation} {order_id}: no answer after {ATTEMPTS} tries")
        created.append((order_id, customer_id))

    async def slot() -> None:
        nonlocal last_report, last_count
        for n in todo:
            await one(n)
            now = time.perf_counter()
            if now - last_report > 30:
                recent = (len(created) - last_count) / (now - last_report)
                last_report, last_count = now, len(created)
                stamp = datetime.now(UTC).strftime("%H:%M:%S")
                print(f"  … {stamp} {len(created):,} open orders, {recent:.1f}/s over the last 30 s", flush=True)

    await asyncio.gather(*(slot() for _ in range(concurrency)))
    if retried:
        print(f"  retried after a 503 (no answer in time) or a lost connection: {dict(retried)}")
    return (len(created) - first) / (time.perf_counter() - began)


async def read_latencies(
    settings: Any, clients: Clients, orders: list[tuple[str, str]], rounds: int
) -> tuple[list[float], list[float]]:
    from tests.conftest import bearer, customer_token, staff_token

    staff = bearer(staff_token(settings))
    lists: list[float] = []
    details: list[float] = []
    for n in range(rounds):
        client = clients.any()
        began = time.perf_counter()
        await _sent(
            partial(client.get, "/v1/staff/orders", params={"status": "awaiting_payment"}, headers=staff), "list"
        )
        lists.append(time.perf_counter() - began)
        order_id, customer_id = orders[(n * 7919) % len(orders)]
        customer = bearer(customer_token(settings, customer_id))
        began = time.perf_counter()
        await _sent(partial(client.get, f"/v1/orders/{order_id}", headers=customer), f"detail of {order_id}")
        details.append(time.perf_counter() - began)
    return lists, details


async def move_deadlines(
    settings: Any, clients: Clients, sample: list[tuple[str, str]], lead: timedelta
) -> dict[str, datetime]:
    """Move the payment deadline of each sampled order to ``lead`` from now (spread over ``DUE_SPREAD`` of it)."""
    from tests.conftest import bearer, staff_token

    staff = bearer(staff_token(settings))
    first = datetime.now(UTC) + lead
    step = lead * DUE_SPREAD / max(1, len(sample) - 1)
    due: dict[str, datetime] = {}
    for n, (order_id, _) in enumerate(sample):
        when = first + n * step
        client = clients.any()
        await _sent(
            partial(
                client.post,
                f"/v1/staff/orders/{order_id}/move-deadline",
                json={"deadline": "payment", "due_at": when.isoformat()},
                headers=staff,
            ),
            f"move-deadline {order_id}",
        )
        due[order_id] = when
    return due


async def deadline_lateness(settings: Any, due: dict[str, datetime]) -> tuple[list[float], list[float]]:
    """Seconds between each moved deadline and R5 firing: in the order's history, and seen in the read model.

    The read model is watched with one query every 50 ms for the whole sample (the staff API polled
    per order would itself load the stack at a large sample).
    """
    pending = dict(due)
    fired: list[float] = []
    seen: list[float] = []
    conn = await _connect(settings, settings.orders_database)
    try:
        give_up = max(due.values()) + FIRE_WAIT
        await asyncio.sleep(max(0.0, (min(due.values()) - datetime.now(UTC)).total_seconds() - 1))
        while pending and datetime.now(UTC) < give_up:
            rows = await conn.fetch(
                "SELECT order_id, (SELECT entry->>'at' FROM jsonb_array_elements(view->'history') AS entry"
                "  WHERE entry->>'actor' = 'system' AND entry->>'action' = 'canceled') AS at"
                " FROM orders WHERE order_id = ANY($1::text[]) AND status = 'canceled'",
                list(pending),
            )
            now = datetime.now(UTC)
            for row in rows:
                if row["at"] is None:
                    raise RuntimeError(f"{row['order_id']} was cancelled, but not by its payment deadline (R5)")
                when = pending.pop(row["order_id"])
                fired.append((datetime.fromisoformat(row["at"]) - when).total_seconds())
                seen.append((now - when).total_seconds())
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    if pending:
        raise RuntimeError(f"{len(pending)} moved deadlines did not fire within {FIRE_WAIT} of due")
    return fired, seen


async def where_the_lateness_went(settings: Any, due: dict[str, datetime]) -> dict[str, list[float]]:
    """Each fired deadline's lateness in its parts, from the order's Temporal history.

    ``server``: the due time to the ``TimerFired`` event (the history service's timer queue);
    ``pickup``: from there to the worker starting the workflow task it scheduled (matching and the
    worker's backlog; the order's ``workflow.now()`` in that task is this start time); ``task``: the
    task itself, start to completion, which for an order out of the worker's cache includes fetching
    and replaying its history.
    """
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client

    from workflows import workflow_id

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    parts: dict[str, list[float]] = {"server": [], "pickup": [], "task": []}
    for order_id, when in due.items():
        history = await client.get_workflow_handle(workflow_id(order_id)).fetch_history()
        events = list(history.events)
        fired = next(
            (
                n
                for n, e in enumerate(events)
                if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
                and e.event_time.ToDatetime(tzinfo=UTC) >= when - timedelta(seconds=1)
            ),
            None,
        )
        if fired is None:
            continue
        after = events[fired:]
        started = next(e for e in after if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        completed = next(e for e in after if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        at = [e.event_time.ToDatetime(tzinfo=UTC) for e in (events[fired], started, completed)]
        parts["server"].append((at[0] - when).total_seconds())
        parts["pickup"].append((at[1] - at[0]).total_seconds())
        parts["task"].append((at[2] - at[1]).total_seconds())
    return parts


async def report_lateness(title: str, settings: Any, due: dict[str, datetime], lateness: Any) -> None:
    """The lateness of one sample, and where it went."""
    fired, seen = lateness
    print_lateness(title, fired, seen)
    parts = await where_the_lateness_went(settings, due)
    for what, values in parts.items():
        if values:
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            print(f"    of it {what:<27} p50 {p50:6.2f} s  p99 {p99:6.2f} s  max {max(values):6.2f} s")


def print_lateness(title: str, fired: list[float], seen: list[float]) -> None:
    print(title)
    for what, values in (("fired after due (order history)", fired), ("visible to staff after due", seen)):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"  {what:<33} p50 {p50:6.2f} s  p99 {p99:6.2f} s  max {max(values):6.2f} s")


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


def checkpoints(total: int, given: str | None) -> list[int]:
    """The sizes to stop and measure at: the given (or default) ones below ``total``, then ``total``."""
    sizes = [int(s) for s in given.split(",") if s.strip()] if given else list(DEFAULT_CHECKPOINTS)
    return sorted({s for s in sizes if 0 < s < total} | {total})


async def sample_of(settings: Any, count: int, taken: set[str]) -> list[tuple[str, str]]:
    """``count`` orders awaiting payment, spread evenly by age over all the stack holds.

    Old ones (long out of the worker's cache) as well as new ones, and those an earlier ``--keep`` run
    left; orders in ``taken`` (moved at an earlier checkpoint) are skipped, and the new sample is added to it.
    """
    conn = await _connect(settings, settings.orders_database)
    try:
        rows = await conn.fetch(
            "SELECT order_id, customer_id FROM ("
            "  SELECT order_id, customer_id, row_number() OVER (ORDER BY created_at) AS n, count(*) OVER () AS total"
            "  FROM orders WHERE status = 'awaiting_payment' AND NOT order_id = ANY($2::text[])"
            ") AS open WHERE n % greatest(1, total / $1) = 0 LIMIT $1",
            count,
            list(taken),
        )
    finally:
        await conn.close()
    sample = [(row["order_id"], row["customer_id"]) for row in rows]
    taken.update(order_id for order_id, _ in sample)
    return sample


async def main() -> None:
    from bench.lifecycle import cpu_snapshot, stack_pids

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", type=int, nargs="?", default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--checkpoints", help=f"sizes to measure at below N (default {DEFAULT_CHECKPOINTS})")
    parser.add_argument("--sample", type=int, default=50, help="orders whose payment deadline is moved")
    parser.add_argument("--lead", type=float, default=120.0, help="seconds ahead the sampled deadlines are moved")
    parser.add_argument("--keep", action="store_true", help="leave the open orders open")
    parser.add_argument("--quick", action="store_true", help="16 orders: proves the script runs")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.sample, args.concurrency, args.lead, args.checkpoints = 16, 3, 8, 3.0, "8"
    from tests.conftest import StackSettings

    settings = StackSettings()
    cores = os.cpu_count() or 1
    lead = timedelta(seconds=args.lead)
    clients = Clients(settings.orders_port, 64)
    orders: list[tuple[str, str]] = []
    table: list[str] = []
    moved: set[str] = set()
    under_load: asyncio.Task[tuple[list[float], list[float]]] | None = None
    under_load_due: dict[str, datetime] = {}
    try:
        rss_before, sizes_before = worker_rss(), await database_sizes(settings)
        print(
            f"creating {args.orders:,} open orders, {args.concurrency} at once; "
            f"{await open_in_stack(settings):,} awaiting payment before"
        )
        pids = stack_pids()
        began, creating = time.perf_counter(), 0.0  # creating: seconds spent creating, without the checkpoints
        for size in checkpoints(args.orders, args.checkpoints):
            cpu_before, segment_began, segment_orders = cpu_snapshot(pids), time.perf_counter(), size - len(orders)
            rate = await create_open_orders(settings, clients, size - len(orders), args.concurrency, orders)
            elapsed = time.perf_counter() - segment_began
            creating += elapsed
            cpu_after = cpu_snapshot(pids)
            if under_load is not None:
                title = f"moved deadlines that fell due during that segment ({len(under_load_due)}):"
                await report_lateness(title, settings, under_load_due, await under_load)
                under_load = None
            await asyncio.sleep(3)  # the last transitions are recorded, the timers started
            rss_after, sizes_after = worker_rss(), await database_sizes(settings)
            n = len(orders)
            overall = n / creating
            print(
                f"\n{n:,} open orders created ({await open_in_stack(settings):,} awaiting payment in the stack), "
                f"{rate:.1f} orders/s in this segment, {overall:.1f}/s overall (apply + estimate or confirm, "
                f"over HTTP; {(time.perf_counter() - began) / 60:,.0f} min since the start)"
            )
            print(f"  CPU share of the machine ({cores} cores) during the segment ({elapsed:,.0f} s), CPU per order:")
            used = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
            for name, seconds in sorted(used.items(), key=lambda kv: -kv[1])[:8]:
                share = seconds / elapsed
                per_order = seconds / max(1, segment_orders) * 1000
                print(f"    {name:<16} {share * 100 / cores:5.1f}%  ({share:.2f} cores)  {per_order:6.1f} ms")
            print(f"    {'all of them':<16} {sum(used.values()) / max(1, segment_orders) * 1000:28.1f} ms")
            print("  per open order:")
            print(f"    worker RSS         {kib((rss_after - rss_before) / n)}  (now {rss_after / 2**20:,.0f} MiB)")
            temporal_per_order = sum(sizes_after[d] - sizes_before[d] for d in TEMPORAL_DATABASES) / n
            per_database = {name: (sizes_after[name] - sizes_before[name]) / n for name in sizes_after}
            for name, grown in per_database.items():
                print(f"    database {name:<20} {kib(grown):>12}  (now {sizes_after[name] / 2**20:,.0f} MiB)")
            lists, details = await read_latencies(settings, clients, orders, 10 if args.quick else 200)
            print("  reads at this size, creation paused:")
            for what, values in (("staff list, awaiting_payment", lists), ("order detail", details)):
                p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
                print(f"    {what:<30} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
            table.append(
                f"| {n:,} | {rate:.1f} | {kib((rss_after - rss_before) / n)} | {kib(temporal_per_order)} | "
                + " | ".join(kib(per_database[d]) for d in sizes_after if d not in TEMPORAL_DATABASES)
                + f" | {percentile(lists, 0.5) * 1000:.1f} / {percentile(lists, 0.99) * 1000:.1f} ms"
                + f" | {percentile(details, 0.5) * 1000:.1f} / {percentile(details, 0.99) * 1000:.1f} ms |"
            )
            due = await move_deadlines(settings, clients, await sample_of(settings, args.sample, moved), lead)
            if size < args.orders:
                under_load, under_load_due = asyncio.create_task(deadline_lateness(settings, due)), due
            else:
                print(f"  {len(due)} payment deadlines moved to {lead.total_seconds():.0f} s ahead, stack idle …")
                title = f"moved deadlines at {await open_in_stack(settings) + len(due):,} open orders ({len(due)}):"
                await report_lateness(title, settings, due, await deadline_lateness(settings, due))
        n = len(orders)
        rate = n / creating
        print(
            "\n| open orders | orders/s | worker RSS | Temporal | orders | deposits | messaging"
            " | list p50/p99 | detail p50/p99 |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        print("\n".join(table))
        bare_count = min(n, 10 if args.quick else 500)
        bare_rate, bare_bytes = await bare_baseline(settings, bare_count, args.concurrency)
        print(
            f"\nbaseline: {bare_count} bare timer workflows started at {bare_rate:.1f}/s, {kib(bare_bytes)} of Temporal"
        )
        print(f"ratio creation rate Daiko/bare: {rate / bare_rate:.2f}x")
        print(f"ratio Temporal bytes per open order Daiko/bare: {temporal_per_order / max(1, bare_bytes):.2f}x")
        total = temporal_per_order + sum(v for d, v in per_database.items() if d not in TEMPORAL_DATABASES)
        print(
            f"projection to 1,000,000 open orders: {total * 1e6 / 2**30:,.1f} GiB of PostgreSQL "
            f"({temporal_per_order * 1e6 / 2**30:,.1f} GiB of it Temporal's), "
            f"{1e6 / rate / 3600:,.1f} h to create at this rate"
        )
        if not args.keep:
            await cancel_all(settings, clients, orders, args.concurrency)
    finally:
        if under_load is not None:
            under_load.cancel()
        await clients.aclose()


if __name__ == "__main__":
    asyncio.run(main())
