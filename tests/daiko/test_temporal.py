"""Temporal of the local stack, and the time-skipping test server."""

from __future__ import annotations

import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.conftest import StackSettings


@workflow.defn(sandboxed=False)
class SleepWorkflow:
    """Sleeps as long as it is told: long enough to be an agency's rule."""

    @workflow.run
    async def run(self, days: int) -> str:
        await workflow.sleep(timedelta(days=days))
        return f"slept {days} days"


def _test_server() -> str:
    found = Path(sys.executable).parent / "temporal-test-server"
    return str(found) if found.exists() else str(shutil.which("temporal-test-server"))


@pytest.mark.stack
async def test_a_workflow_runs_on_the_stacks_temporal_server(stack: StackSettings) -> None:
    client = await Client.connect(stack.temporal_address, namespace=stack.temporal_namespace)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[SleepWorkflow]):
        result = await client.execute_workflow(
            SleepWorkflow.run,
            0,
            id=f"sleep-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=60),
        )
    assert result == "slept 0 days"


async def test_a_50_day_timer_completes_in_seconds_on_the_time_skipping_server() -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=_test_server())
    async with env, Worker(env.client, task_queue="sleep", workflows=[SleepWorkflow]):
        started = await env.get_current_time()
        result = await env.client.execute_workflow(
            SleepWorkflow.run, 50, id=f"sleep-{uuid.uuid4()}", task_queue="sleep"
        )
        assert result == "slept 50 days"
        assert await env.get_current_time() - started >= timedelta(days=50)
