"""Staff list dead letters and replay them with ``daiko dead-letters``, run as the operator would.

The command finds a service's database through the services' registrations,
so this test parks its messages in the messaging service's database, under a
consumer group of its own (the service's own consumer never looks at them),
and removes them afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.consumer import IdempotentConsumer
from daiko.events import Envelope
from daiko.kafka import committed_consumer, idempotent_producer
from daiko.settings import PROJECT_ROOT
from daiko.tables import DeadLetter, ProcessedEvent
from tests.conftest import StackSettings, kafka_as

pytestmark = pytest.mark.stack


async def _daiko(*args: str) -> tuple[int, str]:
    """``python -m daiko.cli dead-letters …`` in a child process; this test's consumer keeps running meanwhile."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daiko.cli",
        "dead-letters",
        *args,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert not err.strip() or process.returncode in (0, 1), err.decode()
    return int(process.returncode or 0), out.decode()


async def _listed(consumer: str, *extra: str) -> dict[str, dict[str, Any]]:
    code, out = await _daiko("list", "--service", "messaging", "--consumer", consumer, "--json", *extra)
    assert code == 0, out
    return {row["event_id"]: row for row in json.loads(out)}


@pytest.fixture
async def messaging_db(db_sessions: dict[str, async_sessionmaker[AsyncSession]]) -> AsyncIterator[Any]:
    sessions = db_sessions["messaging"]
    consumers: list[str] = []
    yield sessions, consumers
    async with sessions() as session, session.begin():
        await session.execute(delete(DeadLetter).where(DeadLetter.consumer.in_(consumers)))
        await session.execute(delete(ProcessedEvent).where(ProcessedEvent.consumer.in_(consumers)))


async def test_staff_list_dead_letters_and_replay_them_once_the_cause_is_fixed(
    stack: StackSettings, messaging_db: Any, new_topic: Callable[..., Awaitable[str]]
) -> None:
    sessions, consumers = messaging_db
    topic = await new_topic("replay", partitions=1)
    name = f"replay-{uuid.uuid4().hex[:8]}"
    consumers.append(name)
    fixable = Envelope(type="test.noted", source="tests", subject="s", data={"note": "fixable"})
    hopeless = Envelope(type="test.noted", source="tests", subject="s", data={"note": "hopeless"})
    fixed = False
    applied: list[str] = []
    failures = 0

    async def handle(session: AsyncSession, event: Envelope) -> None:
        nonlocal failures
        if event.id == hopeless.id or not fixed:
            failures += 1
            raise ValueError(f"cannot apply {event.data['note']} (failure {failures})")
        applied.append(event.id)

    producer = idempotent_producer(kafka_as(stack))
    await producer.start()
    try:
        for event in (fixable, hopeless):
            await producer.send_and_wait(topic, event.to_bytes(), key=b"s")
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumer = IdempotentConsumer(
        name=name,
        consumer=committed_consumer(kafka_as(stack), name, topic),
        session_factory=sessions,
        processed_model=ProcessedEvent,
        dead_letter_model=DeadLetter,
        handler=handle,
        max_attempts=2,
        retry_delay=0.01,
        replay_poll_interval=0.1,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):  # a guard against hanging, not a measure of speed
            async with sessions() as session:
                if len(list(await session.scalars(select(DeadLetter.id).where(DeadLetter.consumer == name)))) == 2:
                    break
            await asyncio.sleep(0.1)
        parked = await _listed(name)
        assert {row["status"] for row in parked.values()} == {"parked"}
        assert "cannot apply fixable (failure 2)" in parked[fixable.id]["error"]
        assert parked[fixable.id]["attempts"] == 2 and parked[fixable.id]["topic"] == topic

        fixed = True  # the code fix is deployed
        code, out = await _daiko(
            "replay", str(parked[fixable.id]["id"]), str(parked[hopeless.id]["id"]), "--service", "messaging"
        )
        assert code == 1, out  # one of the two could not be applied
        assert f"{parked[fixable.id]['id']}: replayed, applied by {name}" in out
        assert f"{parked[hopeless.id]['id']}: failed again, still a dead letter" in out

        after = await _listed(name, "--all")
        assert after[fixable.id]["status"] == "replayed" and after[fixable.id]["replays"] == 1
        assert after[hopeless.id]["status"] == "failed-again" and after[hopeless.id]["replays"] == 1
        new_reason = after[hopeless.id]["error"]
        assert "cannot apply hopeless" in new_reason and new_reason != parked[hopeless.id]["error"]
        assert list(await _listed(name)) == [hopeless.id]  # the replayed one left the default list

        code, out = await _daiko("replay", str(parked[fixable.id]["id"]), "--service", "messaging")
        assert code == 1 and "no dead letter waiting for a replay" in out  # a replayed letter is done with
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    assert applied == [fixable.id]  # applied once, by the consumer's own path
    async with sessions() as session:
        recorded = await session.scalars(select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == name))
        assert list(recorded) == [fixable.id]
