"""The local Kafka's SCRAM set-up: every principal formatted in, a changed password noticed, unsafe values refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from daiko.registry import registered_services
from daiko.settings import DaikoSettings, KafkaAdminSettings, KafkaLogin
from devstack.kafka_security import BROKER_USER, StackCredentials, broker_login, stack_credentials
from devstack.parts import Kafka, StackError


def _credentials(tmp_path: Path) -> StackCredentials:
    return stack_credentials(KafkaAdminSettings(), tmp_path)


def test_the_broker_the_admin_and_every_service_are_formatted_in(tmp_path: Path) -> None:
    credentials = _credentials(tmp_path)
    arguments = credentials.format_arguments()
    names = {arguments[i + 1].split("[name=")[1].split(",")[0] for i in range(0, len(arguments), 2)}
    services = {registration.settings().kafka_login.username for registration in registered_services()}
    assert names == {BROKER_USER, KafkaAdminSettings().kafka_admin_username, *services}
    assert all(argument.startswith("SCRAM-SHA-512=[") for argument in arguments[1::2])


def test_the_broker_password_is_random_and_kept(tmp_path: Path) -> None:
    first = broker_login(tmp_path)
    assert broker_login(tmp_path) == first
    assert broker_login(tmp_path / "other") != first
    assert (tmp_path / "broker.secret").stat().st_mode & 0o077 == 0


def test_a_changed_password_changes_the_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _credentials(tmp_path).fingerprint()
    assert _credentials(tmp_path).fingerprint() == before
    monkeypatch.setenv("DAIKO_DEPOSITS_KAFKA_PASSWORD", "another-password")
    after = _credentials(tmp_path).fingerprint()
    assert after != before
    assert "another-password" not in after


@pytest.mark.parametrize("password", ["with space", 'quo"te', "com,ma", "br]acket", "equ=al"])
def test_a_password_the_scram_syntax_cannot_carry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("DAIKO_KAFKA_ADMIN_PASSWORD", password)
    with pytest.raises(ValueError, match="daiko-admin"):
        _credentials(tmp_path)


def test_two_principals_may_not_share_a_username(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIKO_MESSAGING_KAFKA_USERNAME", "orders")
    with pytest.raises(ValueError, match="share a username"):
        _credentials(tmp_path)


def test_a_login_never_shows_its_password() -> None:
    assert "s3cret" not in repr(KafkaLogin("orders", SecretStr("s3cret")))


async def test_a_broker_still_running_without_authentication_is_named(tmp_path: Path) -> None:
    """Its clients could never log in: say so at once instead of waiting for a health that cannot come."""
    kafka = Kafka(DaikoSettings(state_dir=tmp_path))
    kafka.pid_file.parent.mkdir(parents=True)
    kafka.pid_file.write_text(str(os.getpid()))  # a live process stands in for the old broker
    kafka.home.mkdir()
    (kafka.home / "server.properties").write_text("listener.security.protocol.map=PLAINTEXT:PLAINTEXT\n")
    with pytest.raises(StackError, match="daiko-stack down kafka"):
        await kafka.healthy()
