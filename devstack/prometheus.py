"""The stack's Prometheus: Debian's package, run as our own process with our own config and storage.

``deploy/bootstrap.d/50-prometheus.sh`` installs it (and stops the system
service the package starts). This part writes ``.daiko/prometheus/prometheus.yml``
from the settings on every start, so it scrapes exactly this stack's ports: each
service's ``/metrics``, the worker's own registry and the Temporal SDK's metrics
(``daiko/metrics.py``), and Prometheus itself. It loads the committed alert rules
(``deploy/prometheus/alerts.yml``) and serves the committed dashboard
(``deploy/prometheus/consoles/daiko.html``) with the console libraries Debian
ships, at ``/consoles/daiko.html``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from daiko.registry import registered_services
from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.parts import Part, StackError, answers_ok
from devstack.processes import spawn

RULES = PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml"
CONSOLES = PROJECT_ROOT / "deploy" / "prometheus" / "consoles"
CONSOLE_LIBRARIES = Path("/usr/share/doc/prometheus/examples/console_libraries")
"""``prom.lib`` and ``menu.lib`` as Debian's ``prometheus`` package installs them."""

SCRAPE_INTERVAL = "5s"
"""Short for a local stack (a handful of targets): a figure shows within seconds of what caused it."""


def binary(name: str = "prometheus") -> str:
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} not found: run `bash deploy/bootstrap.sh` (it installs Debian's prometheus package)")
    return found


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a bind-all address is scraped locally


def scrape_targets(settings: DaikoSettings) -> dict[str, str]:
    """Job name → ``host:port`` of every process of the stack that serves metrics."""
    targets: dict[str, str] = {}
    for registration in registered_services():
        targets[registration.name] = f"127.0.0.1:{registration.settings().port}"
        for worker in registration.workers:
            metrics_host = _local(settings.metrics_host)
            targets[worker.name] = f"{metrics_host}:{settings.worker_metrics_port}"
            targets[f"{worker.name}-temporal-sdk"] = f"{metrics_host}:{settings.temporal_sdk_metrics_port}"
    targets["prometheus"] = f"127.0.0.1:{settings.prometheus_port}"
    return targets


def config(settings: DaikoSettings) -> dict[str, Any]:
    """The Prometheus configuration of this stack (``promtool check config`` accepts it: see the tests)."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in scrape_targets(settings).items()
        ],
    }


class Prometheus(Part):
    """Prometheus on ``DAIKO_PROMETHEUS_PORT``, its data in ``.daiko/prometheus/data``."""

    def __init__(self, settings: DaikoSettings) -> None:
        super().__init__("prometheus", settings, "127.0.0.1", [settings.prometheus_port])

    @property
    def home(self) -> Path:
        return self.state / "prometheus"

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    def urls(self) -> list[str]:
        base = f"http://{self.address}"
        return [f"prometheus http://{self.address} (alerts {base}/alerts, dashboard {base}/consoles/daiko.html)"]

    def prepare(self) -> None:
        """Run before every start: the config follows the settings of this start (ports may have moved)."""
        binary()
        if not (CONSOLE_LIBRARIES / "prom.lib").is_file():
            raise StackError(f"Prometheus' console libraries are missing ({CONSOLE_LIBRARIES}): reinstall `prometheus`")
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(config(self.settings), sort_keys=False))

    def start(self) -> None:
        spawn(
            [
                binary(),
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.home / 'data'}",
                "--storage.tsdb.retention.time=7d",
                f"--web.listen-address={self.address}",
                f"--web.console.templates={CONSOLES}",
                f"--web.console.libraries={CONSOLE_LIBRARIES}",
                "--log.level=warn",
            ],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.home,
            env=self.child_env(),
        )

    async def healthy(self) -> bool:
        return await answers_ok(f"http://{self.address}/-/ready")
