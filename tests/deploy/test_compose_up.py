"""Where a Docker engine exists: build the image, bring docker-compose.yml up, and wait for every part to be healthy.

Skipped, with the reason, when ``docker info`` finds no engine (as on the
development machines, which have the docker client only) or the compose
plugin is missing. The stack runs as its own compose project, with secrets
made for the run in a throwaway env file and every published port moved to a
free one (``HOST_PORT_<PART>``), so it can run beside the native stack; it is
taken down with its volumes at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from daiko.attestation import public_key_of
from daiko.settings import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
HOST_PORTS = ("POSTGRES", "KAFKA", "TEMPORAL", "TEMPORAL_UI", "ORDERS", "DEPOSITS", "MESSAGING", "PAYPAL", "PROMETHEUS")
HEALTHY_WITHIN_SECONDS = 900
ONE_SHOT = "setup"


def _no_engine() -> str | None:
    """Why the compose stack cannot come up here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` failed: {exc}"
    if info.returncode != 0:
        said = next((line.strip() for line in info.stderr.splitlines() if line.strip()), "no answer")
        return f"no Docker engine (`docker info`: {said})"
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if plugin.returncode != 0:
        return "the docker compose plugin is missing (`docker compose version` failed)"
    return None


NO_ENGINE = _no_engine()
pytestmark = pytest.mark.skipif(NO_ENGINE is not None, reason=NO_ENGINE or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _secrets() -> dict[str, str]:
    """A value for every variable of .env.example, made for this run (hex: inside every password's allowed set)."""
    seed = secrets.token_hex(32)
    made = {
        "DAIKO_ENVIRONMENT": "development",
        "DAIKO_BANK_DETAILS_KEY": secrets.token_hex(32),
        "DAIKO_LEDGER_SIGNING_KEY": seed,
        "DAIKO_LEDGER_PUBLIC_KEYS": json.dumps([public_key_of(seed)]),
        "DAIKO_PAYPAL_WEBHOOK_ID": "WH-DAIKO-SANDBOX",
    }
    names = [
        line.split("=", 1)[0]
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    return {name: made.get(name, secrets.token_hex(24)) for name in names}


@dataclass
class ComposeStack:
    project: str
    env_file: Path
    ports: dict[str, int]
    environment: dict[str, str]

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), "--env-file", str(self.env_file)]
        return subprocess.run(
            [*command, *args],
            cwd=PROJECT_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def containers(self) -> list[dict[str, Any]]:
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        if out.startswith("["):  # older compose: one array
            listed: list[dict[str, Any]] = json.loads(out)
            return listed
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    folder = tmp_path_factory.mktemp("compose")
    env_file = folder / "test.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in _secrets().items()))
    ports = {part: _free_port() for part in HOST_PORTS}
    # The env file decides, not this shell's DAIKO_ variables (they are the native stack's).
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DAIKO_")}
    environment.update({f"HOST_PORT_{part}": str(port) for part, port in ports.items()})
    running = ComposeStack(f"daiko-test-{secrets.token_hex(4)}", env_file, ports, environment)
    try:
        built = running.compose("up", "--detach", "--build", timeout=1800, check=False)
        assert built.returncode == 0, f"docker compose up failed:\n{built.stderr[-4000:]}"
        yield running
    finally:
        logs = running.compose("logs", "--no-color", "--tail", "60", check=False, timeout=120)
        (folder / "compose.log").write_text(logs.stdout + logs.stderr)
        running.compose("down", "--volumes", "--remove-orphans", check=False, timeout=300)


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return services


@pytest.mark.timeout(HEALTHY_WITHIN_SECONDS + 1900)
def test_the_compose_stack_builds_and_every_part_becomes_healthy(stack: ComposeStack) -> None:
    services = _services()
    probed = {name for name, s in services.items() if (s.get("healthcheck") or {}).get("test")}
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    state: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        state = {c["Service"]: c for c in stack.containers()}
        setup = state.get(ONE_SHOT)
        if setup and setup.get("State") == "exited" and setup.get("ExitCode") != 0:
            log = stack.compose("logs", "--no-color", ONE_SHOT, check=False).stdout
            pytest.fail(f"setup exited {setup.get('ExitCode')}:\n{log[-4000:]}")
        for name, container in state.items():
            if name != ONE_SHOT and container.get("State") in {"exited", "dead"}:
                log = stack.compose("logs", "--no-color", name, check=False).stdout
                pytest.fail(f"{name} stopped ({container.get('Status')}):\n{log[-4000:]}")
        healthy = {name for name, c in state.items() if c.get("Health") == "healthy"}
        setup_done = setup is not None and setup.get("State") == "exited" and setup.get("ExitCode") == 0
        if probed <= healthy and setup_done:
            break
        time.sleep(5)
    else:
        summary = {name: (c.get("State"), c.get("Health")) for name, c in state.items()}
        pytest.fail(f"not healthy within {HEALTHY_WITHIN_SECONDS} s: {summary}")
    assert set(services) <= set(state), "every service of the file has a container"

    for part in ("ORDERS", "DEPOSITS", "MESSAGING"):
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports[part]}/readyz", timeout=10) as answer:
            assert answer.status == 200, part


def test_setup_created_the_declared_topics(stack: ComposeStack) -> None:
    declared = {t["name"] for t in yaml.safe_load((PROJECT_ROOT / "deploy" / "topics.yaml").read_text())["topics"]}
    listed = stack.compose(
        "exec",
        "-T",
        "kafka",
        "/opt/kafka/bin/kafka-topics.sh",
        "--bootstrap-server",
        "localhost:19092",
        "--command-config",
        "/tmp/daiko-admin.properties",
        "--list",
    ).stdout.split()
    assert declared <= set(listed)


def test_messaging_runs_unprivileged_and_can_write_its_photo_volume(stack: ComposeStack) -> None:
    probe = (
        "import asyncio, os; "
        "from services.messaging.settings import MessagingSettings; "
        "from services.messaging.storage import make_store; "
        "store = make_store(MessagingSettings()); "
        "asyncio.run(store.put('te/test-photo', b'photo', 'image/png')); "
        "print(os.getuid(), asyncio.run(store.get('te/test-photo')).decode(), MessagingSettings().attachment_path); "
        "asyncio.run(store.delete('te/test-photo'))"
    )
    answer = stack.compose("exec", "-T", "messaging", "python", "-c", probe).stdout.split()
    uid, content, folder = answer
    assert uid != "0"
    assert content == "photo"
    assert folder == _services()["messaging"]["environment"]["DAIKO_ATTACHMENT_DIR"]
