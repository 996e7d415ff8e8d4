"""The stack's Temporal: the real server on the stack's PostgreSQL, as production runs it.

What staff and the services rely on: it keeps its state in two databases of the
stack's own cluster, with the schemas the SQL tool keeps current; the order
search attributes and the namespace exist; a restart keeps every workflow and
its timers; and several stacks fit side by side because every port is derived
from the frontend's.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import timedelta

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from daiko.settings import DaikoSettings
from devstack.temporal_server import DATABASES, PORT_OFFSETS, TemporalServer
from tests.conftest import StackSettings
from workflows.search_attributes import SEARCH_ATTRIBUTES

TEMPORAL = f"{sys.prefix}/bin/temporal"


@workflow.defn(name="TestLongTimer", sandboxed=False)
class LongTimer:
    """Holds a 30-day timer, as an open order holds its deadline."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=30))


def test_every_port_of_a_stack_stays_within_sixty_of_its_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    for frontend in (7233, 7333, 7933):
        monkeypatch.setenv("DAIKO_TEMPORAL_ADDRESS", f"127.0.0.1:{frontend}")
        part = TemporalServer(DaikoSettings())
        assert part.ports[0] == frontend
        assert len(set(part.ports)) == sum(len(offsets) for offsets in PORT_OFFSETS.values())
        assert all(frontend <= port < frontend + 60 for port in part.ports)
        services = part.config()["services"]
        assert isinstance(services, dict)
        assert services["frontend"]["rpc"]["grpcPort"] == frontend


def test_the_server_config_names_both_postgres_datastores_of_the_stacks_cluster() -> None:
    settings = DaikoSettings()
    persistence = TemporalServer(settings).config()["persistence"]
    assert isinstance(persistence, dict)
    stores = persistence["datastores"]
    sql = {name: store["sql"] for name, store in stores.items()}
    assert {s["databaseName"] for s in sql.values()} == set(DATABASES)
    assert {s["pluginName"] for s in sql.values()} == {"postgres12"}
    assert {s["connectAddr"] for s in sql.values()} == {f"{settings.postgres_host}:{settings.postgres_port}"}


@pytest.mark.stack
async def test_temporal_keeps_its_state_in_the_stacks_postgresql(stack: StackSettings) -> None:
    conn = await asyncpg.connect(
        host=stack.postgres_host, port=stack.postgres_port, user=stack.postgres_user, database="postgres"
    )
    try:
        present = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()
    assert set(DATABASES) <= present
    for database in DATABASES:
        conn = await asyncpg.connect(
            host=stack.postgres_host, port=stack.postgres_port, user=stack.postgres_user, database=database
        )
        try:
            version = await conn.fetchval("SELECT curr_version FROM schema_version")
        finally:
            await conn.close()
        assert version and version != "0.0", f"{database}: update-schema did not run"


@pytest.mark.stack
def test_the_namespace_and_the_order_search_attributes_are_registered(stack: StackSettings) -> None:
    listed = subprocess.run(
        [TEMPORAL, "operator", "search-attribute", "list", "--address", stack.temporal_address,
         "--namespace", stack.temporal_namespace, "--output", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert {name for name, _ in SEARCH_ATTRIBUTES} <= set(listed.stdout.replace('"', " ").split())
    described = subprocess.run(
        [TEMPORAL, "operator", "namespace", "describe", "--address", stack.temporal_address,
         "--namespace", stack.temporal_namespace, "--output", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(described.stdout)["namespaceInfo"]["name"] == stack.temporal_namespace


@pytest.mark.stack
async def test_a_restart_of_temporal_keeps_a_running_workflow_and_its_timer(stack: StackSettings) -> None:
    client = await Client.connect(stack.temporal_address, namespace=stack.temporal_namespace)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    workflow_id = f"long-timer-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[LongTimer]):
        handle = await client.start_workflow(LongTimer.run, id=workflow_id, task_queue=queue)
        async with asyncio.timeout(30):
            while not [e async for e in handle.fetch_history_events() if e.HasField("timer_started_event_attributes")]:
                await asyncio.sleep(0.1)
    restarted = subprocess.run(
        [sys.executable, "-m", "devstack.cli", "restart", "temporal"], capture_output=True, text=True, timeout=300
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    client = await Client.connect(stack.temporal_address, namespace=stack.temporal_namespace)
    described = await client.get_workflow_handle(workflow_id).describe()
    assert described.status is WorkflowExecutionStatus.RUNNING
    events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
    assert any(e.HasField("timer_started_event_attributes") for e in events)
    await client.get_workflow_handle(workflow_id).terminate("test over")
