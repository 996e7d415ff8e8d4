"""Fixtures of the system tests: the whole running stack, reached only through its HTTP APIs and its processes.

These tests need every part of ``daiko-stack up`` (PostgreSQL, Kafka,
Temporal, the three services, the PayPal sandbox and the worker), running the
current code. Tests that crash a part leave the stack healthy again: the
``stack_control`` fixture runs ``daiko-stack up`` after each of them and waits
for ``daiko-stack status`` to exit 0, so later tests are unaffected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from daiko.events import DEPOSITS_EVENTS, MESSAGING_EVENTS, ORDERS_EVENTS
from daiko.settings import DaikoSettings
from tests.conftest import StackSettings, kafka_as
from tests.system.feed import EventFeed
from tests.system.portal import Portal
from tests.system.stack_control import StackControl


@pytest.fixture(scope="session")
async def system(stack: StackSettings) -> DaikoSettings:
    """Every part healthy, or a clear failure naming what is not (no test starts on a broken stack)."""
    control = StackControl(stack)
    results = await asyncio.gather(*(part.healthy() for part in control.parts.values()))
    down = [name for name, ok in zip(control.parts, results, strict=True) if not ok]
    if down:
        pytest.fail(f"parts of the stack not healthy: {', '.join(down)}; run `daiko-stack up`", pytrace=False)
    return stack


@pytest.fixture(scope="session")
async def session_portal(system: StackSettings) -> AsyncIterator[Portal]:
    portal = Portal(system)
    yield portal
    await portal.aclose()


@pytest.fixture
def portal(session_portal: Portal) -> Portal:
    """The customers' and staff's HTTP clients, with a fresh record of answers for this test."""
    session_portal.forget()
    return session_portal


@pytest.fixture
async def stack_control(system: StackSettings) -> AsyncIterator[StackControl]:
    """Crash parts at will: afterwards the stack is brought back and must be healthy (a failure otherwise)."""
    control = StackControl(system)
    yield control
    await control.healthy_again()


@pytest.fixture
async def event_feed(system: StackSettings) -> AsyncIterator[EventFeed]:
    """Order, deposit and messaging events published from now on."""
    feed = EventFeed(kafka_as(system), ORDERS_EVENTS, DEPOSITS_EVENTS, MESSAGING_EVENTS)
    await feed.start()
    yield feed
    await feed.stop()
