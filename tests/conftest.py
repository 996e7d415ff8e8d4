"""Fixtures shared by every test: settings, tokens, and the real parts of the local stack.

Integration tests run against the real PostgreSQL, Kafka and Temporal that
``daiko-stack up`` starts (``make test`` does that first), or, where a Docker
engine answers, against containers started with testcontainers: which one is
decided once per run by ``tests/infrastructure.py`` (``provide``), whose
environment is applied before any settings are built, so the fixtures below
are the same on both paths.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import NewTopic
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daiko.auth import Role, mint_token
from daiko.db import make_engine, make_session_factory
from daiko.kafka import KafkaConnection, admin_client, admin_connection, connection
from daiko.registry import service
from daiko.settings import DaikoSettings, KafkaAdminSettings
from devstack.processes import port_open
from services.deposits.settings import DepositsSettings
from services.messaging.settings import MessagingSettings
from services.orders.settings import OrdersSettings
from tests.infrastructure import Infrastructure, provide

_session_exit_status: int | None = None
_infrastructure = pytest.StashKey[Infrastructure]()


def pytest_configure(config: pytest.Config) -> None:
    """Choose the run's PostgreSQL, Kafka and Temporal (native stack or containers) and point everything at them."""
    chosen = provide()
    os.environ.update(chosen.environment)
    config.stash[_infrastructure] = chosen


def pytest_report_header(config: pytest.Config) -> str:
    chosen = config.stash[_infrastructure]
    return f"daiko infrastructure: {chosen.choice.source} ({chosen.choice.reason})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _session_exit_status
    _session_exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalization once pytest has reported.

    Temporal's native client threads can abort CPython while it finalizes
    ("PyGILState_Release ... finalizing", SIGABRT; temporalio/sdk-python#300),
    which would turn a green run red after the summary. Everything is written
    by now, so the exit status is pytest's own.
    """
    if _infrastructure in config.stash:
        config.stash[_infrastructure].stop()
    if _session_exit_status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_session_exit_status)


class StackSettings(OrdersSettings, DepositsSettings, MessagingSettings, KafkaAdminSettings):
    """Every service's settings in one object (and the Kafka admin's): the tests see the whole stack at once."""


def kafka_as(settings: DaikoSettings, who: str = "admin") -> KafkaConnection:
    """The stack's Kafka as the setup admin (tests write what they like to scratch topics) or as one service.

    The broker refuses unauthenticated clients and checks every write against
    the ACLs, so a test that stands in for a service uses that service's principal.
    """
    if who == "admin":
        admin = settings if isinstance(settings, KafkaAdminSettings) else KafkaAdminSettings(**settings.model_dump())
        return admin_connection(admin)
    return connection(settings, service(who).settings().kafka_login)


@pytest.fixture(scope="session")
def infrastructure(pytestconfig: pytest.Config) -> Infrastructure:
    """Which PostgreSQL, Kafka and Temporal this run uses, and why (``tests/infrastructure.py``)."""
    return pytestconfig.stash[_infrastructure]


@pytest.fixture(scope="session")
def settings(infrastructure: Infrastructure) -> StackSettings:
    """The whole system's settings, read from the environment that ``infrastructure`` pointed at it."""
    return StackSettings()


@pytest.fixture(scope="session")
def stack(settings: StackSettings) -> StackSettings:
    """The running local stack; a clear failure (not a hang) when it is not up."""
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    needed = {
        "postgres": (settings.postgres_host, settings.postgres_port),
        "kafka": (host, int(port)),
    }
    down = [f"{name} ({h}:{p})" for name, (h, p) in needed.items() if not port_open(h, p)]
    if down:
        pytest.fail(f"local stack not running: {', '.join(down)}; start it with `make up`", pytrace=False)
    return settings


def customer_token(settings: DaikoSettings, customer_id: str) -> str:
    return mint_token(settings, subject=customer_id, role=Role.CUSTOMER)


def staff_token(settings: DaikoSettings, staff_id: str = "staff-1") -> str:
    return mint_token(settings, subject=staff_id, role=Role.STAFF)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def customer_id() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def database_engines(stack: StackSettings) -> AsyncIterator[dict[str, AsyncEngine]]:
    engines = {
        name: make_engine(stack.database_url(str(getattr(stack, f"{name}_database"))), pool_size=5)
        for name in ("orders", "deposits", "messaging")
    }
    yield engines
    for engine in engines.values():
        await engine.dispose()


@pytest.fixture(scope="session")
def db_sessions(database_engines: dict[str, AsyncEngine]) -> dict[str, async_sessionmaker[AsyncSession]]:
    """Session factories of each service's database: ``db_sessions["deposits"]``."""
    return {name: make_session_factory(engine) for name, engine in database_engines.items()}


@pytest.fixture
async def new_topic(stack: StackSettings) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Creates throw-away topics (unique names) and deletes them after the test."""
    admin = admin_client(kafka_as(stack))
    await admin.start()
    created: list[str] = []

    async def make(prefix: str = "test", partitions: int = 3) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        await admin.create_topics([NewTopic(name, partitions, 1)])
        created.append(name)
        return name

    yield make
    if created:
        await admin.delete_topics(created)
    await admin.close()
