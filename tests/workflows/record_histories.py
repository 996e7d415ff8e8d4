"""Re-record the committed workflow histories that the replay test replays.

    .venv/bin/python -m tests.workflows.record_histories [SUFFIX]

Runs every path of ``order_paths.PATHS`` once on a fresh time-skipping server
and saves its history as ``histories/<path>.json``; a path whose order continues as
new saves each run, ``histories/<path>.run<N>.json``. Re-record only when a
change is *meant* to alter new histories, and keep the old files too (rename
them) while orders started before the change may still be running: replaying
them is what proves ``workflow.patched`` guards the change. With a SUFFIX the
new files are ``histories/<path>.<suffix>.json`` and the old ones stay as they are.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HISTORIES = HERE / "histories"


async def record(suffix: str = "") -> None:
    from tests.workflows.order_harness import runs, time_skipping_shop
    from tests.workflows.order_paths import PATHS

    HISTORIES.mkdir(exist_ok=True)
    for name, path in PATHS.items():
        async with time_skipping_shop() as shop:
            final = await path(shop, name.replace("_", "-"))
            handle = shop.client.get_workflow_handle(f"order-{final.order_id}")
            first_run = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
            histories = await runs(shop.client, handle.id, first_run.first_execution_run_id)
            for number, history in enumerate(histories, start=1):
                run = f".run{number}" if len(histories) > 1 else ""
                (HISTORIES / f"{name}{run}{'.' + suffix if suffix else ''}.json").write_text(history.to_json())
            print(f"{name}: {final.status.value}, {len(histories)} run(s), {[len(h.events) for h in histories]} events")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))  # the repository root, also when run as a file
    asyncio.run(record(*sys.argv[1:2]))
