"""docker-compose.yml is checked against the local stack by reading it (tests/deploy/test_compose_up.py
brings it up where a Docker engine exists)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from daiko.settings import PROJECT_ROOT, DaikoSettings, KafkaAdminSettings
from devstack.parts import all_parts
from tests.conftest import StackSettings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


INTERPOLATED = re.compile(r"\$\{(?P<name>\w+):-(?P<default>[^}]*)\}")
APP_SERVICES = ("orders", "deposits", "messaging", "paypal", "worker")


def _as_shipped(value: str) -> str:
    """``${HOST_PORT_ORDERS:-8101}`` as it reads with nothing set: its default."""
    return INTERPOLATED.sub(lambda m: m.group("default"), value)


def _published(service: dict[str, Any]) -> set[int]:
    return {int(_as_shipped(str(p)).split(":")[0]) for p in service.get("ports", [])}


def test_compose_runs_every_process_of_the_local_stack(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    # Jaeger (the local stack's trace backend) is not in the compose file yet: its services run with
    # DAIKO_TRACING=false there until it is.
    assert {p.name for p in all_parts(DaikoSettings())} - {"jaeger"} <= names
    assert "temporal-ui" in names


def _defaults() -> StackSettings:
    """The settings as shipped, whatever this shell's DAIKO_ variables say."""
    return StackSettings.model_construct(
        **{name: field.get_default(call_default_factory=True) for name, field in StackSettings.model_fields.items()}
    )


def test_compose_publishes_the_same_ports_as_the_local_stack(compose: dict[str, Any]) -> None:
    defaults = _defaults()
    services = compose["services"]
    expected = {
        "postgres": defaults.postgres_port,
        "kafka": int(defaults.kafka_bootstrap.rsplit(":", 1)[1]),
        "temporal": int(defaults.temporal_address.rsplit(":", 1)[1]),
        "temporal-ui": defaults.temporal_ui_port,
        "orders": defaults.orders_port,
        "deposits": defaults.deposits_port,
        "messaging": defaults.messaging_port,
    }
    for name, port in expected.items():
        assert port in _published(services[name]), f"{name} should publish {port}"
    for name in ("orders", "deposits", "messaging"):
        assert f"services.{name}.app:app" in services[name]["command"]
        assert str(expected[name]) in services[name]["command"]


def test_compose_environment_names_only_real_settings(compose: dict[str, Any]) -> None:
    from services.deposits.settings import DepositsSettings
    from services.messaging.settings import MessagingSettings
    from services.orders.settings import OrdersSettings

    fields = {
        f"DAIKO_{name.upper()}"
        for settings in (DaikoSettings, KafkaAdminSettings, OrdersSettings, DepositsSettings, MessagingSettings)
        for name in settings.model_fields
    }
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        for key in env:
            if key.startswith("DAIKO_"):
                assert key in fields, f"{name}: {key} is not a setting"
    worker_env = compose["services"]["worker"]["environment"]
    assert worker_env["DAIKO_TEMPORAL_TASK_QUEUE"] == _defaults().temporal_task_queue


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest", f"{name} image {image!r} must be pinned"


def test_kafka_topics_in_compose_setup_match_the_declared_topics(compose: dict[str, Any]) -> None:
    topics = yaml.safe_load((PROJECT_ROOT / "deploy" / "topics.yaml").read_text())["topics"]
    from daiko import events

    declared = {t["name"] for t in topics}
    assert {events.ORDERS_EVENTS, events.DEPOSITS_COMMANDS, events.DEPOSITS_EVENTS, events.MESSAGING_EVENTS} == declared
    assert "daiko topics" in " ".join(compose["services"]["setup"]["command"])


def test_compose_takes_every_secret_from_the_uncommitted_env_file(compose: dict[str, Any]) -> None:
    """No secret is written in the file: each is ``${VAR:?…}`` from ``.env``, which git ignores."""
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    for secret in ("daiko-development-secret", "daiko-sandbox", "6461696b6f"):
        assert secret not in text
    secrets = ("PASSWORD", "PWD", "SECRET", "KEY")
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in secrets) and "ACCESS_KEY_ID" not in key:
                assert str(value).startswith("${") and ":?" in str(value), f"{name}: {key} is written in the file"
    example = (PROJECT_ROOT / ".env.example").read_text()
    for variable in ("DAIKO_POSTGRES_PASSWORD", "DAIKO_JWT_SECRET", "DAIKO_BANK_DETAILS_KEY"):
        assert f"{variable}=" in example
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_compose_kafka_authenticates_every_client_and_enforces_the_acls(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]["environment"]
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    protocols = dict(entry.split(":") for entry in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no listener may take unauthenticated clients"
    assert "daiko kafka-acls" in " ".join(compose["services"]["setup"]["command"])


def test_compose_kafka_knows_every_service_principal_and_each_service_only_its_own(compose: dict[str, Any]) -> None:
    """The broker is formatted with a SCRAM credential per registered service; each container holds one."""
    from daiko.registry import registered_services

    start = (PROJECT_ROOT / "deploy" / "kafka" / "compose-start.sh").read_text()
    example = (PROJECT_ROOT / ".env.example").read_text()
    services = compose["services"]
    for registration in registered_services():
        login = registration.settings().kafka_login
        assert f"[name={login.username},password=" in start
        variable = f"DAIKO_{registration.name.upper()}_KAFKA_PASSWORD"
        assert f"{variable}=" in example
        assert variable in services[registration.name]["environment"]
        others = [r.name for r in registered_services() if r.name != registration.name]
        for other in others:
            assert f"DAIKO_{other.upper()}_KAFKA_PASSWORD" not in services[registration.name]["environment"]
        assert "DAIKO_KAFKA_ADMIN_PASSWORD" not in services[registration.name]["environment"]


def test_every_app_container_has_a_healthcheck_of_its_own(compose: dict[str, Any]) -> None:
    """Services by their /readyz (what `daiko-stack status` asks), the sandbox by its page, the worker by Temporal."""
    services = compose["services"]
    for name in APP_SERVICES:
        check = services[name].get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert check["test"][:2] == ["CMD", "daiko-healthcheck"], f"{name}: checks go through daiko-healthcheck"
        assert not check.get("disable")
    for name in ("orders", "deposits", "messaging"):
        port = services[name]["command"][-1]
        assert services[name]["healthcheck"]["test"][2:] == ["http", f"http://127.0.0.1:{port}/readyz"]
    from daiko.registry import registered_services

    (sandbox,) = [c for r in registered_services() for c in r.companions]
    assert services["paypal"]["healthcheck"]["test"][-1].endswith(f":8104{sandbox.health_path}")
    assert services["worker"]["healthcheck"]["test"][2:] == ["worker"]
    assert services["setup"]["healthcheck"] == {"disable": True}, "a one-shot has nothing to probe"
    for name in ("postgres", "kafka", "temporal"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"


def test_messaging_keeps_its_photos_in_a_named_volume_it_can_write(compose: dict[str, Any]) -> None:
    """The folder the service writes is DAIKO_ATTACHMENT_DIR, a named volume over the image's folder owned by daiko.

    A new named volume is filled from the image's folder, owner included (the Dockerfile makes it as 10001).
    """
    messaging = compose["services"]["messaging"]
    folder = messaging["environment"]["DAIKO_ATTACHMENT_DIR"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in messaging["volumes"]}
    assert folder in mounts, f"{folder} is not a mounted volume"
    assert mounts[folder] in compose["volumes"], "a named volume, so photos survive `down`/`up --build`"
    dockerfile = _dockerfile()
    assert re.search(rf"install -d -o 10001 -g 10001 .*{re.escape(folder)}", dockerfile), (
        f"the image must make {folder} owned by its user"
    )
    for name, service in compose["services"].items():
        if name != "messaging":
            assert "DAIKO_ATTACHMENT_DIR" not in (service.get("environment") or {})


def test_published_host_ports_move_together_with_what_kafka_advertises(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    (published,) = kafka["ports"]
    host_port = published.rsplit(":", 1)[0]
    assert host_port.startswith("${HOST_PORT_KAFKA")
    assert f"EXTERNAL://localhost:{host_port}" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    ui_port = compose["services"]["temporal-ui"]["ports"][0].rsplit(":", 1)[0]
    assert compose["services"]["temporal-ui"]["environment"]["TEMPORAL_CORS_ORIGINS"] == f"http://localhost:{ui_port}"


def _dockerfile() -> str:
    return (PROJECT_ROOT / "Dockerfile").read_text()


def test_every_app_container_runs_the_image_as_its_unprivileged_user(compose: dict[str, Any]) -> None:
    """No service overrides the Dockerfile's USER (10001), so none runs as root."""
    for name in (*APP_SERVICES, "setup"):
        service = compose["services"][name]
        assert service["image"] == compose["services"]["orders"]["image"], f"{name} runs another image"
        assert str(service.get("user", "10001")).split(":")[0] not in {"root", "0"}, f"{name} runs as root"
