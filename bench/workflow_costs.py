"""What an order's transitions cost Temporal, before and after the lean transitions (workflow tasks, history bytes).

    .venv/bin/python bench/workflow_costs.py [--quick]

Every path of ``tests/workflows/order_paths.PATHS`` (``--quick``: three of them)
runs once with today's ``OrderWorkflow`` on a fresh time-skipping Temporal
server; each order's history (every run of it) is read back from the server
and set next to the same path's newest committed history from before
``LEAN_TRANSITIONS_PATCH`` (``tests/workflows/histories/<path>[.runN].<suffix>.json``,
recorded by the workflow as it was). Both are measured the same way:

- transitions: ``record_transition`` calls (activities before, local activities after);
- workflow tasks: completed workflow tasks (each one a round trip worker <-> server
  and a write of the mutable state);
- history bytes: the protobuf size of every event (what the server stores, and
  what a worker fetches to replay an order it does not have cached);
- visibility writes: search-attribute upserts (each rewrites the order's row in
  the visibility store; patches add their own, ``TemporalChangeVersion``).

Prints one line per path and the totals per transition, before -> after, with
their ratios. Needs no stack: the time-skipping server is the one the rule tests use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root, also when run as a file

from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import WorkflowHistory  # noqa: E402

from workflows import RECORD_TRANSITION  # noqa: E402

HISTORIES = ROOT / "tests" / "workflows" / "histories"
BEFORE_SUFFIXES = ("activity-recorded", "bounded-history")
"""Committed recordings from before the patch (main as it was), newest first: a path's newest one is its "before"."""
QUICK_PATHS = ("purchase_two_time_received", "forward_two_time_dispute", "customer_cancels_before_paying")


@dataclass
class Cost:
    transitions: int = 0
    workflow_tasks: int = 0
    events: int = 0
    history_bytes: int = 0
    upserts: int = 0
    activity_input_bytes: int = 0

    def add(self, events: list[HistoryEvent]) -> None:
        for event in events:
            self.events += 1
            self.history_bytes += event.ByteSize()
            if event.HasField("workflow_task_completed_event_attributes"):
                self.workflow_tasks += 1
            elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
                self.upserts += 1
            elif event.HasField("activity_task_scheduled_event_attributes"):
                scheduled = event.activity_task_scheduled_event_attributes
                if scheduled.activity_type.name == RECORD_TRANSITION:
                    self.transitions += 1
                    self.activity_input_bytes += scheduled.input.ByteSize()
            elif event.HasField("marker_recorded_event_attributes"):
                marker = event.marker_recorded_event_attributes
                data = marker.details["data"].payloads if "data" in marker.details else []
                if data and json.loads(data[0].data).get("activity_type") == RECORD_TRANSITION:
                    self.transitions += 1

    def __iadd__(self, other: Cost) -> Cost:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def committed_before(path: str) -> Cost | None:
    """The path's newest committed pre-patch recording (all its runs), measured."""
    for suffix in BEFORE_SUFFIXES:
        files = sorted(HISTORIES.glob(f"{path}.{suffix}.json")) or sorted(HISTORIES.glob(f"{path}.run*.{suffix}.json"))
        if files:
            cost = Cost()
            for file in files:
                cost.add(list(WorkflowHistory.from_json("before", file.read_text()).events))
            return cost
    return None


async def run_now(name: str) -> Cost:
    """The path run with today's workflow; its history read back from the server."""
    from tests.workflows.order_harness import runs, time_skipping_shop
    from tests.workflows.order_paths import PATHS

    async with time_skipping_shop() as shop:
        final = await PATHS[name](shop, name.replace("_", "-"))
        handle = shop.client.get_workflow_handle(f"order-{final.order_id}")
        first = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
        cost = Cost()
        for history in await runs(shop.client, handle.id, first.first_execution_run_id):
            cost.add(list(history.events))
        return cost


def ratio(after: float, before: float) -> str:
    return f"{after / before:.2f}x" if before else "-"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three paths only (proves the script runs)")
    args = parser.parse_args()
    from tests.workflows.order_paths import PATHS

    names = [n for n in PATHS if n in QUICK_PATHS] if args.quick else list(PATHS)
    began = time.monotonic()
    total_before, total_after = Cost(), Cost()
    header = f"{'path':<40} {'transitions':>11} {'workflow tasks':>16} {'history KB':>16} {'upserts':>9}"
    print(header)
    for name in names:
        before = committed_before(name)
        after = await run_now(name)
        if before is None:
            print(f"{name:<40} (no pre-patch recording)")
            continue
        total_before += before
        total_after += after
        print(
            f"{name:<40} {before.transitions:>4} -> {after.transitions:<4} "
            f"{before.workflow_tasks:>6} -> {after.workflow_tasks:<6} "
            f"{before.history_bytes / 1024:>6.1f} -> {after.history_bytes / 1024:<6.1f} "
            f"{before.upserts:>3} -> {after.upserts:<3}"
        )
    b, a = total_before, total_after
    print(f"\n{len(names)} paths in {time.monotonic() - began:.1f}s; per transition, before -> after:")
    print(f"  workflow tasks   {b.workflow_tasks / b.transitions:6.2f} -> {a.workflow_tasks / a.transitions:6.2f}")
    print(f"  history events   {b.events / b.transitions:6.2f} -> {a.events / a.transitions:6.2f}")
    print(f"  history bytes    {b.history_bytes / b.transitions:6.0f} -> {a.history_bytes / a.transitions:6.0f}")
    print(
        f"  of which the record_transition input {b.activity_input_bytes / b.transitions:6.0f} -> "
        f"{a.activity_input_bytes / a.transitions:6.0f}"
    )
    print(f"  visibility upserts {b.upserts / b.transitions:6.2f} -> {a.upserts / a.transitions:6.2f}")
    per = {name: (getattr(a, name) / a.transitions, getattr(b, name) / b.transitions) for name in vars(a)}
    print(
        f"ratio after/before per transition: workflow tasks {ratio(*per['workflow_tasks'])}, "
        f"history bytes {ratio(*per['history_bytes'])}, upserts {ratio(*per['upserts'])}"
    )


if __name__ == "__main__":
    asyncio.run(main())
    # Everything is printed and every server stopped; skip the interpreter's finalization, where a thread
    # of the Temporal SDK's core still calling into Python can abort it (PyGILState_Release, exit -6).
    sys.stdout.flush()
    os._exit(0)
