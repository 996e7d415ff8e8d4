"""Who may talk to the local stack's Kafka: the broker itself, the setup admin and one principal per service.

SCRAM credentials of a KRaft cluster live in its metadata log, so they are
written when the storage is formatted (``kafka-storage format --add-scram``,
KIP-900). The set formatted in is remembered as a fingerprint next to the
data: when the settings name other credentials (a first start after Kafka ran
without authentication, a changed password), the data is formatted again
rather than leaving a broker that refuses every service.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from daiko.registry import registered_services
from daiko.settings import KafkaAdminSettings, KafkaLogin

BROKER_USER = "broker"
_SAFE = re.compile(r"[A-Za-z0-9._~+/@!#$%^&*:;?-]+")
"""What ``--add-scram``'s ``[name=…,password=…]`` syntax and the JAAS line carry unquoted."""


@dataclass(frozen=True)
class StackCredentials:
    mechanism: str
    broker: KafkaLogin
    admin: KafkaLogin
    services: tuple[KafkaLogin, ...]

    @property
    def scram_logins(self) -> tuple[KafkaLogin, ...]:
        return (self.broker, self.admin, *self.services)

    def format_arguments(self) -> list[str]:
        """``--add-scram`` for every principal, for ``kafka.tools.StorageTool format``."""
        arguments: list[str] = []
        for login in self.scram_logins:
            arguments += ["--add-scram", f"{self.mechanism}=[name={login.username},password={_value(login)}]"]
        return arguments

    def fingerprint(self) -> str:
        """Changes whenever a principal or password does; reveals neither."""
        lines = sorted(f"{login.username}\0{_value(login)}" for login in self.scram_logins)
        return hashlib.sha256("\n".join([self.mechanism, *lines]).encode()).hexdigest()


def _value(login: KafkaLogin) -> str:
    return login.password.get_secret_value()


def broker_login(home: Path) -> KafkaLogin:
    """The broker's own credential: random, made once per machine, readable by its owner only."""
    secret_file = home / "broker.secret"
    if not secret_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        secret_file.touch(mode=0o600)
        secret_file.write_text(secrets.token_urlsafe(32))
    return KafkaLogin(BROKER_USER, SecretStr(secret_file.read_text().strip()))


def stack_credentials(settings: KafkaAdminSettings, home: Path) -> StackCredentials:
    credentials = StackCredentials(
        mechanism=settings.kafka_sasl_mechanism,
        broker=broker_login(home),
        admin=settings.kafka_admin_login,
        services=tuple(registration.settings().kafka_login for registration in registered_services()),
    )
    usernames = [login.username for login in credentials.scram_logins]
    if len(set(usernames)) != len(usernames):
        raise ValueError(f"two Kafka principals share a username: {sorted(usernames)}")
    for login in credentials.scram_logins:
        if not (_SAFE.fullmatch(login.username) and _SAFE.fullmatch(_value(login))):
            raise ValueError(
                f"Kafka username or password of {login.username!r} holds a character the SCRAM set-up cannot carry "
                "(space, quote, comma, brackets or '='); choose another"
            )
    return credentials
