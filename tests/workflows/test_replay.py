"""Determinism: every committed history replays against today's OrderWorkflow.

A change to the workflow that would break running orders (a new command, a
reordered timer, an activity that moved) fails here before it ships; guard
such a change with ``workflow.patched`` and keep the old histories. Re-record
with ``.venv/bin/python -m tests.workflows.record_histories``.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflows.order_paths import PATHS
from workflows import CUSTOMER_UPDATES, DEPOSIT_EVENT_SIGNAL, STAFF_OPERATIONS, staff_update_name
from workflows.models import CancelReason, OrderStatus
from workflows.order_workflow import OrderWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(path.read_text())["events"]
    return events


def _path_of(history: Path) -> str:
    """``<path>[.run<N>][.<suffix>].json`` -> ``<path>``."""
    return history.name.split(".")[0]


def _ended(history: Path) -> bool:
    """The run ended the order (the others continued as new)."""
    return "workflowExecutionCompletedEventAttributes" in _events(history)[-1]


def _start_input(history: Path) -> str:
    """The run's input as JSON text: an application, or a carried-over order (``{"order": ...}``)."""
    started = _events(history)[0]["workflowExecutionStartedEventAttributes"]
    return base64.b64decode(started["input"]["payloads"][0]["data"]).decode()


def _final_view(path: Path) -> dict[str, Any]:
    completed = _events(path)[-1]["workflowExecutionCompletedEventAttributes"]
    view: dict[str, Any] = json.loads(base64.b64decode(completed["result"]["payloads"][0]["data"]))
    return view


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_committed_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(f"order-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_the_histories_cover_every_path_operation_and_ending() -> None:
    assert set(PATHS) <= {_path_of(p) for p in HISTORIES}, "run python -m tests.workflows.record_histories"
    signals: Counter[str] = Counter()
    updates: Counter[str] = Counter()
    for path in HISTORIES:
        for event in _events(path):
            if attributes := event.get("workflowExecutionSignaledEventAttributes"):
                signals[attributes["signalName"]] += 1
            if attributes := event.get("workflowExecutionUpdateAcceptedEventAttributes"):
                updates[attributes["acceptedRequest"]["input"]["name"]] += 1
    assert {staff_update_name(op) for op in STAFF_OPERATIONS} | set(CUSTOMER_UPDATES) <= set(updates)
    assert set(STAFF_OPERATIONS) | {DEPOSIT_EVENT_SIGNAL} <= set(signals)

    continued = [p for p in HISTORIES if not _ended(p)]
    carried_over = [p for p in HISTORIES if _start_input(p).startswith('{"order":')]
    assert continued and carried_over, "a path continues as new (order_paths)"

    endings = {(view["status"], view["cancel_reason"]) for view in map(_final_view, filter(_ended, HISTORIES))}
    assert {status for status, _ in endings} == {"completed", "canceled", "abandoned"}
    assert {reason for _, reason in endings if reason} == {r.value for r in CancelReason}
    assert OrderStatus.COMPLETED.value in {status for status, _ in endings}
