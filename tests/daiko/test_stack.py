"""The local stack's command: status, idempotent up, and a clear message for a taken port."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from daiko.registry import service
from daiko.settings import DaikoSettings
from devstack.parts import Service, StackError, all_parts
from tests.conftest import StackSettings

pytestmark = pytest.mark.stack


def _daiko_stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devstack.cli", *args], capture_output=True, text=True, timeout=300)


def test_status_reports_every_part_healthy(stack: StackSettings) -> None:
    result = _daiko_stack("status")
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("postgres", "kafka", "temporal", "orders", "deposits", "messaging", "paypal", "worker", "edge"):
        assert part in result.stdout


def test_a_second_up_is_a_no_op(stack: StackSettings) -> None:
    result = _daiko_stack("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "starting" not in result.stdout
    assert result.stdout.count("already running") == len(all_parts(stack))


def test_a_port_taken_by_another_process_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("DAIKO_ORDERS_PORT", str(port))
        part = Service(service("orders"), DaikoSettings())
        with pytest.raises(StackError, match=f"port {port} needed by orders is already in use"):
            part.check_ports_free()
