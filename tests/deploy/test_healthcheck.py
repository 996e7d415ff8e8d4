"""deploy/healthcheck.py, the image's ``daiko-healthcheck``: what the containers' healthchecks run.

Against a small HTTP server of its own and a stand-in ``temporal`` CLI (the
worker check's parsing is the local stack's, ``devstack.parts.Worker``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from daiko.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "deploy" / "healthcheck.py"
WORKER_ENV = {
    "DAIKO_TEMPORAL_ADDRESS": "temporal:7233",
    "DAIKO_TEMPORAL_NAMESPACE": "default",
    "DAIKO_TEMPORAL_TASK_QUEUE": "daiko-orders",
}


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("daiko_healthcheck", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/readyz" else 503
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_http_is_healthy_on_2xx_only(healthcheck: ModuleType, server: str) -> None:
    assert healthcheck.check_http(f"{server}/readyz") is None
    assert "answered 503" in healthcheck.check_http(f"{server}/down")
    assert "did not answer" in healthcheck.check_http(f"http://127.0.0.1:{_free_port()}/readyz", timeout=2)


def test_the_script_is_executable_as_copied_into_the_image() -> None:
    """The Dockerfile copies it as is (no ``--chmod``, which the classic builder lacks): git keeps its mode."""
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")


def test_as_a_command_it_exits_0_when_healthy_and_1_with_a_reason(server: str) -> None:
    """Run as the image runs it: a script on its own, standard library only."""
    ok = subprocess.run([sys.executable, "-I", str(SCRIPT), "http", f"{server}/readyz"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    down = subprocess.run([sys.executable, "-I", str(SCRIPT), "http", f"{server}/down"], capture_output=True, text=True)
    assert down.returncode == 1
    assert down.stderr.startswith("unhealthy: ") and "503" in down.stderr


def _fake_temporal(folder: Path, answer: Mapping[str, object], exit_code: int = 0) -> dict[str, str]:
    script = folder / "temporal"
    script.write_text(
        f"#!/bin/sh\necho \"$@\" > {folder / 'args'}\ncat <<'JSON'\n{json.dumps(answer)}\nJSON\nexit {exit_code}\n"
    )
    script.chmod(0o755)
    return {**WORKER_ENV, "PATH": f"{folder}{os.pathsep}/usr/bin:/bin"}


def test_worker_is_healthy_while_a_workflow_poller_is_on_its_task_queue(
    healthcheck: ModuleType, tmp_path: Path
) -> None:
    polling = {"pollers": [{"identity": "1@worker", "taskQueueType": "workflow"}]}
    env = _fake_temporal(tmp_path, polling)
    assert healthcheck.check_worker(env) is None
    args = (tmp_path / "args").read_text().split()
    assert args[:2] == ["task-queue", "describe"]
    for flag, name in (("--address", "ADDRESS"), ("--namespace", "NAMESPACE"), ("--task-queue", "TASK_QUEUE")):
        assert args[args.index(flag) + 1] == WORKER_ENV[f"DAIKO_TEMPORAL_{name}"]


def test_worker_is_unhealthy_without_a_workflow_poller_or_temporal(healthcheck: ModuleType, tmp_path: Path) -> None:
    only_activities = {"pollers": [{"identity": "1@worker", "taskQueueType": "activity"}]}
    idle = healthcheck.check_worker(_fake_temporal(tmp_path, only_activities))
    assert "no workflow worker polls daiko-orders" in idle
    assert "exited 1" in healthcheck.check_worker(_fake_temporal(tmp_path, {}, exit_code=1))
    assert "not set: DAIKO_TEMPORAL_ADDRESS" in healthcheck.check_worker({})
    no_cli = {**WORKER_ENV, "PATH": str(tmp_path / "nothing-here")}
    assert "not on PATH" in healthcheck.check_worker(no_cli)
