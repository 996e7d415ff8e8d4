"""Which PostgreSQL, Kafka and Temporal the suite runs on (tests/infrastructure.py): the choice, and this run's.

Without a Docker engine (as on the development machines) the native stack is the one source; asking for
containers there is an error that says why, never a silent fall-back. The containers path itself runs
only where an engine answers: its test is skipped here with the reason.
"""

from __future__ import annotations

import pytest
import yaml

from daiko.settings import DaikoSettings
from devstack.processes import port_open
from tests.conftest import StackSettings
from tests.infrastructure import (
    COMPOSE_FILE,
    Choice,
    Infrastructure,
    InfrastructureError,
    choose,
    compose_environment,
    compose_service,
    docker_engine_problem,
    interpolate,
    run_secrets,
)

NO_ENGINE = "no Docker engine answers (connection refused)"


@pytest.mark.parametrize(
    ("asked", "engine_problem", "native_running", "source"),
    [
        (None, NO_ENGINE, True, "native"),
        (None, NO_ENGINE, False, "native"),  # then the `stack` fixture says to start it
        (None, None, True, "native"),  # make test started the stack: use it
        (None, None, False, "containers"),  # an engine and nothing running: containers by themselves
        ("1", None, True, "containers"),
        ("0", None, False, "native"),
        ("0", NO_ENGINE, False, "native"),
    ],
)
def test_the_source_follows_what_was_asked_the_engine_and_the_native_stack(
    asked: str | None, engine_problem: str | None, native_running: bool, source: str
) -> None:
    assert choose(asked, engine_problem, native_running).source == source


def test_a_native_run_without_an_engine_says_why_containers_were_not_used() -> None:
    assert choose(None, NO_ENGINE, True) == Choice("native", f"no containers: {NO_ENGINE}")


def test_asking_for_containers_where_no_engine_answers_is_an_error_not_a_fall_back() -> None:
    with pytest.raises(InfrastructureError, match="containers cannot run here: no Docker engine"):
        choose("1", NO_ENGINE, True)
    with pytest.raises(InfrastructureError, match="must be 1 or 0"):
        choose("sometimes", None, True)


def test_compose_interpolation_as_the_containers_path_reads_docker_compose_yml() -> None:
    variables = {"HOST_PORT_KAFKA": "19999", "PASSWORD": "s3cret"}
    assert interpolate("EXTERNAL://localhost:${HOST_PORT_KAFKA:-9092}", variables) == "EXTERNAL://localhost:19999"
    assert interpolate("${HOST_PORT_TEMPORAL:-7233}", variables) == "7233"
    assert interpolate('password="${PASSWORD:?set it}"', variables) == 'password="s3cret"'
    assert interpolate("$$(hostname -i)", variables) == "$(hostname -i)"
    with pytest.raises(InfrastructureError, match=r"needs MISSING: set it in \.env"):
        interpolate("${MISSING:?set it in .env}", variables)


@pytest.mark.skipif(docker_engine_problem() is None, reason="a Docker engine answers on this machine")
def test_this_machine_has_no_engine_so_the_run_is_on_the_native_stack(
    infrastructure: Infrastructure, settings: StackSettings
) -> None:
    assert infrastructure.choice.source == "native"
    assert (
        "no Docker engine" in infrastructure.choice.reason or "DAIKO_TEST_CONTAINERS=0" in infrastructure.choice.reason
    )
    assert infrastructure.environment == {}  # the shell's settings as they are: the native stack's
    assert (settings.postgres_host, settings.postgres_port) == (
        DaikoSettings().postgres_host,
        DaikoSettings().postgres_port,
    )


def test_a_containers_run_points_every_setting_at_the_containers(
    infrastructure: Infrastructure, settings: StackSettings
) -> None:
    if infrastructure.choice.source != "containers":
        pytest.skip(f"this run is on the native stack ({infrastructure.choice.reason})")
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    for address in ((settings.postgres_host, settings.postgres_port), (host, int(port))):
        assert port_open(*address)
    assert infrastructure.environment["DAIKO_POSTGRES_PORT"] == str(settings.postgres_port)
    assert infrastructure.environment["DAIKO_TEMPORAL_ADDRESS"] == settings.temporal_address


def test_the_containers_path_takes_every_containers_settings_from_docker_compose_yml() -> None:
    """What runs where an engine answers is read from docker-compose.yml with this run's secrets and ports."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    variables = {
        **run_secrets(),
        "HOST_PORT_POSTGRES": "15433",
        "HOST_PORT_KAFKA": "19092",
        "HOST_PORT_TEMPORAL": "17233",
    }
    kafka = compose_environment(compose_service(compose, "kafka"), variables)
    assert "EXTERNAL://localhost:19092" in kafka["KAFKA_ADVERTISED_LISTENERS"]  # clients on the host reach it
    assert kafka["SCRAM_ORDERS_PASSWORD"] == variables["DAIKO_ORDERS_KAFKA_PASSWORD"]
    postgres = compose_environment(compose_service(compose, "postgres"), variables)
    assert postgres["POSTGRES_PASSWORD"] == variables["DAIKO_POSTGRES_PASSWORD"]
    temporal = compose_environment(compose_service(compose, "temporal"), variables)
    assert temporal["POSTGRES_SEEDS"] == "postgres"  # the postgres container's alias on the run's network
    assert compose_service(compose, "kafka")["entrypoint"] == ["/bin/bash", "/opt/daiko/compose-start.sh"]
