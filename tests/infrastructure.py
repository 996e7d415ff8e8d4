"""Where the tests' PostgreSQL, Kafka and Temporal come from: the native stack, or containers.

:func:`provide` is the one place the suite asks. It returns an :class:`Infrastructure`: which source
was chosen and why, and the ``DAIKO_`` environment that points every settings object, subprocess
(the ``temporal`` and ``daiko`` commands) and service of the run at it. ``tests/conftest.py`` applies
that environment once, before any settings are built, so every test sees one system whichever the source.

- **native** (the default; the only one without a Docker engine): the parts ``daiko-stack up`` runs
  (``make test`` starts them); the environment is the shell's as it is.
- **containers** (``DAIKO_TEST_CONTAINERS=1``, or chosen by itself when a Docker engine answers and no
  native stack is running): PostgreSQL, Kafka and Temporal started with testcontainers from the images
  and settings of ``docker-compose.yml`` (one definition of the containers, SASL/SCRAM and ACLs
  included), with passwords made for the run; then prepared as ``daiko-stack up`` prepares its own
  (migrations, topics, ACLs, search attributes) and the services and worker started as native processes
  against them (``daiko-stack up`` of those parts only). ``DAIKO_TEST_CONTAINERS=0`` forces native.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import yaml

from daiko.attestation import public_key_of
from daiko.registry import registered_services
from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.processes import port_open

ASK = "DAIKO_TEST_CONTAINERS"
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
READY_WITHIN_SECONDS = 300.0
Source = Literal["native", "containers"]


class InfrastructureError(RuntimeError):
    """The source asked for cannot be provided; the message says why."""


@dataclass(frozen=True)
class Choice:
    source: Source
    reason: str


def choose(asked: str | None, engine_problem: str | None, native_running: bool) -> Choice:
    """Which source a run uses, from what was asked, whether a Docker engine answers, and the native stack.

    ``engine_problem`` is why containers cannot run (None when they can). Asking for containers where
    they cannot run is an error, never a silent fall-back to something else.
    """
    wanted = (asked or "").strip().lower()
    if wanted in ("0", "false", "no"):
        return Choice("native", f"{ASK}={asked}")
    if wanted in ("1", "true", "yes"):
        if engine_problem:
            raise InfrastructureError(f"{ASK}={asked}, but containers cannot run here: {engine_problem}")
        return Choice("containers", f"{ASK}={asked}")
    if wanted:
        raise InfrastructureError(f"{ASK} must be 1 or 0, not {asked!r}")
    if engine_problem:
        return Choice("native", f"no containers: {engine_problem}")
    if native_running:
        return Choice("native", "the native stack is running (a Docker engine answers too)")
    return Choice("containers", "a Docker engine answers and no native stack is running")


def docker_engine_problem() -> str | None:
    """Why testcontainers cannot start containers here, or None when a Docker engine answers."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as missing:
        return f"the docker SDK is not installed ({missing.name}): pip install -e '.[dev]'"
    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except DockerException as exc:
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"no Docker engine answers ({said})"
    return None


def native_stack_running(settings: DaikoSettings) -> bool:
    return port_open(settings.postgres_host, settings.postgres_port)


@dataclass
class Infrastructure:
    """What the run talks to: the source, why, and the environment that points everything at it."""

    choice: Choice
    environment: dict[str, str] = field(default_factory=dict)
    stop: Callable[[], None] = field(default=lambda: None, repr=False)


def provide(environ: Mapping[str, str] = os.environ) -> Infrastructure:
    """The infrastructure of this run (the one function both paths go through)."""
    choice = choose(environ.get(ASK), docker_engine_problem(), native_stack_running(DaikoSettings()))
    if choice.source == "native":
        return Infrastructure(choice)
    return _start_containers(choice)


# --- containers ------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[-?])(?P<text>[^}]*))?\}")


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``, and ``$$`` for a dollar."""

    def one(match: re.Match[str]) -> str:
        name, kind, text = match.group("name", "kind", "text")
        if variables.get(name):
            return variables[name]
        if kind == "-":
            return text
        raise InfrastructureError(f"docker-compose.yml needs {name}: {text or 'not set'}")

    return _INTERPOLATION.sub(one, value).replace("$$", "$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_secrets() -> dict[str, str]:
    """Every secret docker-compose.yml asks for, made for this run only."""
    seed = secrets.token_hex(32)
    made = {
        name: secrets.token_hex(24)
        for name in (
            "DAIKO_POSTGRES_PASSWORD",
            "KAFKA_BROKER_PASSWORD",
            "DAIKO_KAFKA_ADMIN_PASSWORD",
            "DAIKO_ORDERS_KAFKA_PASSWORD",
            "DAIKO_DEPOSITS_KAFKA_PASSWORD",
            "DAIKO_MESSAGING_KAFKA_PASSWORD",
        )
    }
    return {**made, "DAIKO_LEDGER_SIGNING_KEY": seed, "DAIKO_LEDGER_PUBLIC_KEYS": f'["{public_key_of(seed)}"]'}


def compose_service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"][name]
    return service


def compose_environment(service: dict[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    return {key: interpolate(str(value), variables) for key, value in (service.get("environment") or {}).items()}


def _wait(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise InfrastructureError(f"{what} was not ready within {READY_WITHIN_SECONDS:.0f} s")
        time.sleep(1.0)


def _succeeds(command: list[str], environment: Mapping[str, str]) -> Callable[[], bool]:
    def attempt() -> bool:
        done = subprocess.run(command, env=dict(environment), capture_output=True, text=True, timeout=120, check=False)
        return done.returncode == 0

    return attempt


def _start_containers(choice: Choice) -> Infrastructure:
    """PostgreSQL, Kafka and Temporal as docker-compose.yml defines them, then the services against them."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    ports = {part: _free_port() for part in ("POSTGRES", "KAFKA", "TEMPORAL")}
    variables = {**run_secrets(), **{f"HOST_PORT_{part}": str(port) for part, port in ports.items()}}
    network = Network()
    network.create()
    started: list[Any] = []

    def stop() -> None:
        subprocess.run(
            [str(Path(sys.executable).with_name("daiko-stack")), "down", *app_parts], env=environment, check=False
        )
        for container in reversed(started):
            container.stop()
        network.remove()

    postgres = compose_service(compose, "postgres")
    kafka = compose_service(compose, "kafka")
    temporal = compose_service(compose, "temporal")
    definitions: tuple[tuple[str, dict[str, Any], int, int, dict[str, str]], ...] = (
        (
            "postgres",
            postgres,
            5432,
            ports["POSTGRES"],
            {str(PROJECT_ROOT / "deploy/postgres/init.sql"): "/docker-entrypoint-initdb.d/init.sql"},
        ),
        (
            "kafka",
            kafka,
            9092,
            ports["KAFKA"],
            {str(PROJECT_ROOT / "deploy/kafka/compose-start.sh"): "/opt/daiko/compose-start.sh"},
        ),
        ("temporal", temporal, 7233, ports["TEMPORAL"], {}),
    )
    environment = {
        **os.environ,
        "DAIKO_POSTGRES_HOST": "127.0.0.1",
        "DAIKO_POSTGRES_PORT": str(ports["POSTGRES"]),
        "DAIKO_POSTGRES_PASSWORD": variables["DAIKO_POSTGRES_PASSWORD"],
        "DAIKO_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['KAFKA']}",
        "DAIKO_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['TEMPORAL']}",
        **{name: variables[name] for name in variables if name.startswith("DAIKO_")},
    }
    app_parts = [r.name for r in registered_services()]
    app_parts += [c.name for r in registered_services() for c in r.companions]
    app_parts += [w.name for r in registered_services() for w in r.workers]
    try:
        for alias, service, inside, outside, mounts in definitions:
            container = (
                DockerContainer(str(service["image"]))
                .with_network(network)
                .with_network_aliases(alias)
                .with_bind_ports(inside, outside)
            )
            for key, value in compose_environment(service, variables).items():
                container = container.with_env(key, value)
            for source, target in mounts.items():
                container = container.with_volume_mapping(source, target, "ro")
            if "entrypoint" in service:
                container = container.with_kwargs(entrypoint=service["entrypoint"])
            started.append(container.start())
            _wait(f"{alias} (port {outside})", partial(port_open, "127.0.0.1", outside))
        daiko = str(Path(sys.executable).with_name("daiko"))
        # The same steps as compose's `setup` and `daiko-stack up`; retried while the parts finish starting.
        for step in (["migrate"], ["topics"], ["kafka-acls"], ["search-attributes"]):
            _wait(f"daiko {' '.join(step)}", _succeeds([daiko, *step], environment))
        up = subprocess.run(
            [str(Path(sys.executable).with_name("daiko-stack")), "up", *app_parts], env=environment, check=False
        )
        if up.returncode != 0:
            raise InfrastructureError("the services did not become healthy against the containers (daiko-stack logs)")
    except BaseException:
        stop()
        raise
    exported = {name: value for name, value in environment.items() if name.startswith("DAIKO_")}
    return Infrastructure(choice, exported, stop)
