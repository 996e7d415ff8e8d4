"""The local stack's command: status, idempotent up, and a clear message for a taken port."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from daiko.settings import DaikoSettings
from daiko.stack.parts import Service, StackError

pytestmark = pytest.mark.stack


def _daiko(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daiko.cli", *args], capture_output=True, text=True, timeout=300)


def test_status_reports_every_part_healthy(stack: DaikoSettings) -> None:
    result = _daiko("stack", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("postgres", "kafka", "temporal", "orders", "deposits", "messaging", "paypal", "worker"):
        assert part in result.stdout


def test_a_second_up_is_a_no_op(stack: DaikoSettings) -> None:
    result = _daiko("stack", "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "starting" not in result.stdout
    assert result.stdout.count("already running") == 8


def test_a_port_taken_by_another_process_is_named(tmp_path: object) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        part = Service("orders", DaikoSettings(orders_port=port))
        with pytest.raises(StackError, match=f"port {port} needed by orders is already in use"):
            part.check_ports_free()
