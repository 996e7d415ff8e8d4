"""Settings a deployment beyond one machine relies on (deploy/helm/daiko, docs/production.md).

- the setup job's ``daiko kafka-acls`` reads each service's Kafka username without holding any of the
  services' secrets, which their whole settings would demand in production;
- RS256 sign-in needs no HS256 secret, even in production;
- Temporal over TLS, with a client certificate (Temporal Cloud's mTLS);
- ``daiko topics`` gives new topics the replication the settings ask, checked on the real broker.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError
from pydantic import ValidationError
from temporalio.service import TLSConfig

from daiko.acls import registered_principals
from daiko.kafka import admin_client
from daiko.settings import DaikoSettings
from daiko.topics import create_topics
from services.orders.settings import OrdersSettings
from tests.conftest import StackSettings, kafka_as
from workflows.client import tls_config


def test_kafka_acls_reads_the_usernames_without_the_services_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIKO_ENVIRONMENT", "production")
    monkeypatch.setenv("DAIKO_ORDERS_KAFKA_USERNAME", "orders-tokyo")
    for service in ("DEPOSITS", "MESSAGING"):
        monkeypatch.delenv(f"DAIKO_{service}_KAFKA_USERNAME", raising=False)
    with pytest.raises(ValidationError, match="DAIKO_ORDERS_KAFKA_PASSWORD"):
        OrdersSettings()  # what reading the whole settings would do in the setup job
    assert registered_principals() == {
        "deposits": "User:deposits",
        "messaging": "User:messaging",
        "orders": "User:orders-tokyo",
    }


def test_rs256_sign_in_needs_no_hs256_secret_in_production() -> None:
    rs256 = DaikoSettings(environment="production", jwt_algorithm="RS256", postgres_password="a-real-password")
    assert rs256.is_production
    with pytest.raises(ValidationError, match="DAIKO_JWT_SECRET"):
        DaikoSettings(environment="production", jwt_algorithm="HS256", postgres_password="a-real-password")


def test_temporal_is_plain_locally_and_mutual_tls_with_a_client_certificate(tmp_path: Path) -> None:
    assert tls_config(DaikoSettings()) is False
    cert, key, ca = (tmp_path / n for n in ("tls.crt", "tls.key", "ca.crt"))
    for path in (cert, key, ca):
        path.write_bytes(f"-----BEGIN {path.name}-----\n".encode())
    mutual = tls_config(DaikoSettings(temporal_tls_cert=cert, temporal_tls_key=key))
    assert isinstance(mutual, TLSConfig)
    assert (mutual.client_cert, mutual.client_private_key) == (cert.read_bytes(), key.read_bytes())
    assert mutual.server_root_ca_cert is None  # Temporal Cloud: the system trust store
    private_ca = tls_config(DaikoSettings(temporal_tls=True, temporal_tls_ca=ca, temporal_tls_server_name="temporal"))
    assert isinstance(private_ca, TLSConfig)
    assert (private_ca.server_root_ca_cert, private_ca.domain, private_ca.client_cert) == (
        ca.read_bytes(),
        "temporal",
        None,
    )
    with pytest.raises(ValidationError, match="DAIKO_TEMPORAL_TLS_CERT and DAIKO_TEMPORAL_TLS_KEY go together"):
        DaikoSettings(temporal_tls_cert=cert)


async def test_topics_are_created_with_the_replication_the_settings_ask(stack: StackSettings, tmp_path: Path) -> None:
    name = f"test.replication.{uuid.uuid4().hex[:10]}"
    spec = tmp_path / "topics.yaml"
    spec.write_text(yaml.safe_dump({"topics": [{"name": name, "partitions": 2, "retention_ms": 3600000}]}))
    admin = kafka_as(stack)
    # The local stack has one broker: three replicas cannot be placed, which shows the factor is the one asked.
    with pytest.raises(InvalidReplicationFactorError):
        await create_topics(admin, spec, replication_factor=3, min_insync_replicas=2)
    await create_topics(admin, spec, replication_factor=1, min_insync_replicas=1)
    client = admin_client(admin)
    await client.start()
    try:
        (described,) = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        configs = {entry[0]: entry[1] for resource in described.resources for entry in resource[4]}
        assert configs["min.insync.replicas"] == "1"
        assert configs["retention.ms"] == "3600000"
        partitions = (await client.describe_topics([name]))[0]["partitions"]
        assert len(partitions) == 2 and all(len(p["replicas"]) == 1 for p in partitions)
    finally:
        await client.delete_topics([name])
        await client.close()
