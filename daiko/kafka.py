"""Kafka clients configured the way every Daiko process needs them.

Every aiokafka client of the system (producers, consumers, admin clients, the
readiness probe, the tests and benchmarks) takes its address and credentials
from :func:`client_options`, so none can be built that skips authentication:
the broker refuses unauthenticated connections, and its ACLs (``daiko/acls.py``)
decide what each principal may write and read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from daiko.settings import DaikoSettings, KafkaAdminSettings, KafkaLogin, ServiceSettings


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and who this client is to them."""

    bootstrap: str
    login: KafkaLogin
    security_protocol: str = "SASL_PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    ssl_cafile: Path | None = None


def connection(settings: DaikoSettings, login: KafkaLogin) -> KafkaConnection:
    """The brokers of ``settings``, reached as ``login``."""
    return KafkaConnection(
        bootstrap=settings.kafka_bootstrap,
        login=login,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        ssl_cafile=settings.kafka_ssl_cafile,
    )


def service_connection(settings: ServiceSettings) -> KafkaConnection:
    """A service's clients authenticate as the service's own principal, never as another's."""
    return connection(settings, settings.kafka_login)


def admin_connection(settings: KafkaAdminSettings) -> KafkaConnection:
    """The setup principal: creates topics and ACLs; no service process is given it."""
    return connection(settings, settings.kafka_admin_login)


def client_options(kafka: KafkaConnection) -> dict[str, Any]:
    """The keyword arguments every aiokafka client needs: the bootstrap servers and the SASL login."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap,
        "security_protocol": kafka.security_protocol,
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_plain_username": kafka.login.username,
        "sasl_plain_password": kafka.login.password.get_secret_value(),
    }
    if kafka.security_protocol == "SASL_SSL":
        options["ssl_context"] = create_ssl_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    return options


def idempotent_producer(kafka: KafkaConnection, **extra: object) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send never duplicates or reorders within a partition.

    Idempotence needs no ``IDEMPOTENT_WRITE`` on the cluster: since Kafka 3.0
    (KIP-679) ``WRITE`` on any topic allows it, and that is all a service gets.

    No linger: the outbox relay already hands the producer a whole batch of rows at once, and
    what it sends while a request is in flight is batched anyway; a linger only made every event
    on the money path wait (5 ms a hop, three hops from payment to paid).
    """
    return AIOKafkaProducer(
        **client_options(kafka),
        enable_idempotence=True,
        acks="all",
        **{"linger_ms": 0, **extra},  # type: ignore[arg-type]
    )


def committed_consumer(kafka: KafkaConnection, group_id: str, *topics: str, **extra: object) -> AIOKafkaConsumer:
    """Offsets are committed by hand, only after the effect is in the database."""
    return AIOKafkaConsumer(
        *topics,
        **client_options(kafka),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **extra,  # type: ignore[arg-type]
    )


def admin_client(kafka: KafkaConnection, **extra: object) -> AIOKafkaAdminClient:
    """An admin client; what it may do is what its principal's ACLs allow (everything for the setup admin)."""
    return AIOKafkaAdminClient(**client_options(kafka), **extra)  # type: ignore[arg-type]
