"""Settings shared by every Daiko process.

One pydantic-settings base with the ``DAIKO_`` prefix: each service subclasses
:class:`ServiceSettings` for its own knobs (its port, its database, its rules),
so a single environment configures the whole system and a wrong value fails at
start-up rather than at the first request. A process builds its settings once
and hands that one object to everything it runs, authentication included.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "production"


def development_default(default: Any, description: str = "") -> Any:
    """A setting whose shipped value only fits the local stack (e.g. the development key's public half)."""
    return Field(default=default, description=description, json_schema_extra={"development_default": True})


def development_secret(default: str, description: str = "") -> Any:
    """A secret whose shipped value only serves development: production refuses to start with it.

    The value is a :class:`SecretStr`, so it never appears in a log line, a
    repr or an error message; code reads it with ``get_secret_value()``.
    """
    return Field(default=SecretStr(default), description=description, json_schema_extra={"development_default": True})


@dataclass(frozen=True)
class KafkaLogin:
    """Who a Kafka client is: its SCRAM username (the ACLs' principal ``User:<username>``) and password."""

    username: str
    password: SecretStr

    @property
    def principal(self) -> str:
        return f"User:{self.username}"


class DaikoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAIKO_", extra="ignore")

    environment: str = "development"
    state_dir: Path = PROJECT_ROOT / ".daiko"

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5433
    postgres_user: str = "daiko"
    postgres_password: SecretStr = development_secret("daiko")

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Every client authenticates (SASL/SCRAM) as its service's principal, which the ACLs bind to
    # the topics it may write and read; in production the listener adds TLS (SASL_SSL).
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    # CA bundle that signed the brokers' certificates (SASL_SSL); the system's trust store otherwise.
    kafka_ssl_cafile: Path | None = None

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    temporal_task_queue: str = "daiko-orders"
    # Workflow tasks one order worker process runs at once (services/orders/worker.py). A task that has
    # started must finish within its 10 s timeout or Temporal hands it out again; a Python worker given
    # more tasks than its share of CPU finishes none in time and redoes them (docs/operations.md, "Worker
    # tuning"). The rest wait in Temporal's task queue, where waiting costs nothing.
    worker_workflow_task_slots: int = Field(default=8, ge=1, le=1000)
    # TLS to the Temporal frontend (a cluster with TLS on, Temporal Cloud). A client certificate and key
    # make it mutual TLS (Temporal Cloud requires it); a CA file replaces the system trust store for a
    # private CA. Setting the certificate turns TLS on by itself.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None

    # Auth: HS256 with a shared secret in development; RS256 with a JWKS URL in production.
    jwt_algorithm: str = "HS256"
    jwt_secret: SecretStr = development_secret("daiko-development-secret-change-me-0123456789")
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "daiko"
    jwt_audience: str = "daiko"

    # Rate limits (daiko/ratelimit.py, "<count>/<second|minute|hour>"): the operations that create or
    # pay, per customer and per client IP; failed authentications per client IP. The store is a
    # `limits` storage URI: memory (per process) by default, redis://... to count across replicas.
    rate_limit_enabled: bool = True
    rate_limit_storage: str = "async+memory://"
    rate_limit_customer: str = "60/minute"
    rate_limit_ip: str = "600/minute"
    rate_limit_auth_failures: str = "30/minute"

    # The edge (devstack/edge.py, deploy/edge/): one origin for the portal, the APIs and sign-in.
    edge_port: int = 8100
    # The address the edge connects to the services from, and the only peer whose X-Forwarded-For
    # they believe (uvicorn --forwarded-allow-ips): a client on 127.0.0.1 cannot choose its rate-limit key.
    edge_proxy_address: str = "127.0.0.2"
    # Shown by the portal (GET /config.json).
    agency_name: str = "Daiko"

    # Sign-in with OpenID Connect: the identity provider the portal sends people to (authorization code
    # + PKCE, public client) and whose RS256 access tokens the services accept, keys from its JWKS. The
    # local stack runs one (devstack/oidc.py) behind the edge, so outside production both default to it;
    # in production the issuer must be DAIKO_JWT_ISSUER, the one issuer the services trust there.
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_client_id: str = "daiko-portal"
    oidc_scope: str = "openid profile daiko"
    oidc_port: int = 8107

    # Live streams (daiko/live.py, GET /v1/live): events a client may fall behind by before it is
    # disconnected (it reconnects and reloads), and the heartbeat comment's interval.
    live_queue_size: int = Field(default=256, ge=1)
    live_heartbeat_seconds: float = Field(default=15.0, gt=0)

    log_level: str = "INFO"

    # Traces (daiko/tracing.py): every process exports its spans by OTLP over HTTP/protobuf. The local
    # stack runs Jaeger there (devstack/jaeger.py); DAIKO_TRACING=false switches both off. In production
    # spans leave only for an endpoint given explicitly (DAIKO_OTLP_ENDPOINT): the local default is not
    # where an agency's collector is, and a process must not stall exporting to nowhere.
    tracing: bool = True
    otlp_endpoint: str = "http://127.0.0.1:4318"
    jaeger_ui_port: int = 16686
    # The relay wakes on commit (LISTEN/NOTIFY); its poll is only the safety net for a lost notification.
    outbox_poll_interval_seconds: float = 1.0
    # Off only where LISTEN cannot work (a pooler in transaction mode between the service and
    # PostgreSQL): the relay then waits for its poll, so lower the interval with it.
    outbox_listen: bool = True
    # Longer than the longest topic retention, so a redelivered event is always recognised.
    processed_events_retention_days: int = Field(default=35, ge=31)

    # Metrics (daiko/metrics.py). The services serve /metrics on their own port; the worker has no web app,
    # so it serves its own registry and the Temporal SDK's (the SDK's native exporter) on ports of their own,
    # bound to metrics_host (0.0.0.0 where the scraper is on another host or container).
    metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 8105
    temporal_sdk_metrics_port: int = 8106
    # A scrape-time probe (outbox, dead letters, consumer lag, overdue deadlines) slower than this is dropped.
    metrics_probe_timeout_seconds: float = Field(default=5.0, gt=0)
    prometheus_port: int = 9090  # the local stack's Prometheus (devstack/prometheus.py)

    @model_validator(mode="after")
    def _oidc_defaults_to_the_local_provider(self) -> Self:
        """Outside production, the local stack's provider (on the edge's origin); in production, no default."""
        if self.environment == PRODUCTION:
            if self.oidc_issuer is not None and self.oidc_issuer != self.jwt_issuer:
                raise ValueError(
                    "DAIKO_OIDC_ISSUER must be DAIKO_JWT_ISSUER in production: the portal signs in with the "
                    "one issuer whose tokens the services accept (DAIKO_JWT_ALGORITHM=RS256, DAIKO_JWT_JWKS_URL)"
                )
            return self
        if self.oidc_issuer is None:
            self.oidc_issuer = f"http://127.0.0.1:{self.edge_port}/oidc"
            if self.oidc_jwks_url is None:  # straight to the provider: the services need not go through the edge
                self.oidc_jwks_url = f"http://127.0.0.1:{self.oidc_port}/oidc/jwks"
        return self

    @model_validator(mode="after")
    def _production_refuses_development_secrets(self) -> Self:
        """With ``DAIKO_ENVIRONMENT=production`` no shipped secret is accepted, whichever process starts."""
        if self.environment != PRODUCTION:
            return self
        kept = [
            f"DAIKO_{name.upper()}"
            for name, field in type(self).model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("development_default")
            and getattr(self, name) == field.default
            and not (name == "jwt_secret" and self.jwt_algorithm != "HS256")  # unused: RS256 keys come by JWKS
        ]
        if kept:
            raise ValueError(
                "DAIKO_ENVIRONMENT=production refuses the development default of " + ", ".join(sorted(kept))
            )
        return self

    @model_validator(mode="after")
    def _temporal_client_certificate_has_its_key(self) -> Self:
        """A certificate without its key (or the reverse) is a half-configured mTLS: refuse it at start."""
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("DAIKO_TEMPORAL_TLS_CERT and DAIKO_TEMPORAL_TLS_KEY go together (mutual TLS)")
        return self

    @property
    def temporal_uses_tls(self) -> bool:
        return self.temporal_tls or self.temporal_tls_cert is not None or self.temporal_tls_ca is not None

    @property
    def is_production(self) -> bool:
        return self.environment == PRODUCTION

    @property
    def otlp_traces_endpoint(self) -> str | None:
        """Where this process sends its spans, or ``None`` when it traces nothing.

        Off with ``DAIKO_TRACING=false``; in production also off unless ``DAIKO_OTLP_ENDPOINT`` is set.
        """
        if not self.tracing or (self.is_production and "otlp_endpoint" not in self.model_fields_set):
            return None
        return self.otlp_endpoint.rstrip("/") + "/v1/traces"

    def database_url(self, database: str) -> str:
        return (
            f"postgresql+asyncpg://{self.postgres_user}:{self.postgres_password.get_secret_value()}"
            f"@{self.postgres_host}:{self.postgres_port}/{database}"
        )


class ServiceSettings(DaikoSettings):
    """A service's settings: the base plus where it listens and which database it owns.

    Subclasses declare ``<name>_port`` and ``<name>_database`` fields (so the
    environment says ``DAIKO_ORDERS_PORT``) and expose them as :attr:`port` and
    :attr:`database`, which is all the plumbing needs to know.
    """

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def database(self) -> str: ...

    @property
    def own_database_url(self) -> str:
        return self.database_url(self.database)

    @property
    @abstractmethod
    def kafka_login(self) -> KafkaLogin:
        """The service's own Kafka principal: every client the service builds authenticates as it."""


class KafkaAdminSettings(DaikoSettings):
    """The Kafka principal that creates topics and ACLs (``daiko topics``, ``daiko kafka-acls``, the local stack).

    Apart from the services' settings, so that no service process holds (or
    has to be given, in production) the password that may rewrite the ACLs.
    """

    kafka_admin_username: str = "daiko-admin"
    kafka_admin_password: SecretStr = development_secret("daiko-kafka-admin-development-password")
    # What `daiko topics` gives a topic it creates: 1 on the single local broker, 3 (and 2 in sync) in production.
    kafka_topic_replication_factor: int = Field(default=1, ge=1)
    kafka_topic_min_insync_replicas: int | None = Field(default=None, ge=1)

    @property
    def kafka_admin_login(self) -> KafkaLogin:
        return KafkaLogin(self.kafka_admin_username, self.kafka_admin_password)
