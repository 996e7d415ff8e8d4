"""The local Temporal server's payload limit (devstack/parts.py ``TEMPORAL_LIMITS``) against a flood of big signals.

An order was once killed by 28 malformed signals of 1.9 MB each: they were
all written to its history until the history passed Temporal's limit and the
server terminated the workflow. With the stack's limits such a signal is
refused before it reaches the history, and the order carries on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import StackSettings
from tests.services.orders.driver import Driver, purchase_application

pytestmark = pytest.mark.stack

TEMPORAL_CLI = Path(sys.executable).parent / "temporal"
BIG = 1_900_000  # bytes of one signal of the flood


async def _signal_from_file(settings: StackSettings, order_id: str, payload: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI),
        "workflow",
        "signal",
        "--workflow-id",
        f"order-{order_id}",
        "--name",
        "estimate",
        "--input-file",
        str(payload),
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_a_signal_of_the_flood_is_refused_before_the_history_and_the_order_carries_on(
    driver: Driver, stack: StackSettings, tmp_path: Path
) -> None:
    order_id = await driver.apply(purchase_application("one_time", items=1))
    payload = tmp_path / "big.json"
    payload.write_text(json.dumps({"note": "x" * BIG, "actor": "flood"}))

    for _ in range(3):
        code, output = await _signal_from_file(stack, order_id, payload)
        assert code != 0, output
        assert "size" in output.lower() or "limit" in output.lower(), output

    view = await driver.staff_op(order_id, "estimate", {"service_fee": 300, "international_shipping": 1500})
    assert view["status"] == "awaiting_payment"  # alive, and nothing of the flood in its history
    assert all(entry["actor"] != "flood" for entry in view["history"])
