"""Production refuses every development secret, naming the setting; development keeps working."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from daiko.settings import DaikoSettings, KafkaAdminSettings, ServiceSettings
from services.deposits.settings import DepositsSettings
from services.messaging.settings import MessagingSettings
from services.orders.settings import OrdersSettings

SERVICE_SETTINGS: list[type[ServiceSettings]] = [OrdersSettings, DepositsSettings, MessagingSettings]
REPLACED = {
    "postgres_password": "a-real-database-password",
    "jwt_secret": "a-real-signing-secret-of-the-agency-0123456789",
    "paypal_client_secret": "a-real-paypal-client-secret",
    "paypal_webhook_id": "WH-THE-AGENCYS-OWN",
    "bank_details_key": "11" * 32,
    "orders_kafka_password": "a-real-orders-kafka-password",
    "deposits_kafka_password": "a-real-deposits-kafka-password",
    "messaging_kafka_password": "a-real-messaging-kafka-password",
    "kafka_admin_password": "a-real-kafka-admin-password",
    "ledger_signing_key": "22" * 32,
    "ledger_public_keys": '["' + "33" * 32 + '"]',
    "agency_bank_name": "Example Trust Bank",
    "agency_bank_branch": "Shibuya (123)",
    "agency_bank_account_number": "7654321",
    "agency_bank_account_holder": "KK EXAMPLE AGENCY",
}


def _development_secrets(settings: type[DaikoSettings]) -> list[str]:
    return [
        name
        for name, field in settings.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("development_default")
    ]


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.__name__)
def test_production_refuses_to_start_on_any_development_secret(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAIKO_ENVIRONMENT", "production")
    secrets = _development_secrets(settings)
    assert "jwt_secret" in secrets and "postgres_password" in secrets
    for kept in secrets:
        for name in secrets:
            if name != kept:
                monkeypatch.setenv(f"DAIKO_{name.upper()}", REPLACED[name])
        monkeypatch.delenv(f"DAIKO_{kept.upper()}", raising=False)
        with pytest.raises(ValidationError, match=f"DAIKO_{kept.upper()}"):
            settings()


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.__name__)
def test_production_starts_once_every_secret_is_the_agencys_own(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAIKO_ENVIRONMENT", "production")
    for name in _development_secrets(settings):
        monkeypatch.setenv(f"DAIKO_{name.upper()}", REPLACED[name])
    assert settings().is_production


@pytest.mark.parametrize("settings", [*SERVICE_SETTINGS, KafkaAdminSettings], ids=lambda s: s.__name__)
def test_each_kafka_principal_needs_its_own_password_in_production(
    settings: type[DaikoSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service holds its own Kafka password only; the setup admin's is apart from every service."""
    kafka_secrets = {name for name in _development_secrets(settings) if "kafka" in name}
    assert len(kafka_secrets) == 1
    assert ("kafka_admin_password" in kafka_secrets) == (settings is KafkaAdminSettings)
    monkeypatch.setenv("DAIKO_ENVIRONMENT", "production")
    for name in _development_secrets(settings):
        if name not in kafka_secrets:
            monkeypatch.setenv(f"DAIKO_{name.upper()}", REPLACED[name])
    (kept,) = kafka_secrets
    with pytest.raises(ValidationError, match=f"DAIKO_{kept.upper()}"):
        settings()


def test_deposits_guards_its_payment_and_bank_secrets_too() -> None:
    assert {"paypal_client_secret", "paypal_webhook_id", "bank_details_key", "ledger_signing_key"} <= set(
        _development_secrets(DepositsSettings)
    )


def test_secrets_never_show_in_a_repr_or_a_log_line() -> None:
    settings = DepositsSettings()
    assert isinstance(settings.jwt_secret, SecretStr)
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("daiko-development-secret", "daiko-sandbox-secret", "6461696b6f"):
        assert secret not in shown


def test_spans_go_to_the_local_jaeger_in_development_and_nowhere_when_tracing_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAIKO_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("DAIKO_TRACING", raising=False)
    assert DaikoSettings().otlp_traces_endpoint == "http://127.0.0.1:4318/v1/traces"
    monkeypatch.setenv("DAIKO_TRACING", "false")
    assert DaikoSettings().otlp_traces_endpoint is None


def test_production_sends_spans_only_to_an_endpoint_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAIKO_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("DAIKO_TRACING", raising=False)
    monkeypatch.setenv("DAIKO_ENVIRONMENT", "production")
    for name in _development_secrets(DaikoSettings):
        monkeypatch.setenv(f"DAIKO_{name.upper()}", REPLACED[name])
    assert DaikoSettings().otlp_traces_endpoint is None
    monkeypatch.setenv("DAIKO_OTLP_ENDPOINT", "https://otel-collector.agency.internal:4318/")
    assert DaikoSettings().otlp_traces_endpoint == "https://otel-collector.agency.internal:4318/v1/traces"
