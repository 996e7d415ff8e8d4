"""Jaeger, the local stack's trace backend: every process's spans land here (``daiko.tracing``).

One ``jaeger`` process (Jaeger v2, built from the Go module proxy by
``deploy/bootstrap.d/40-jaeger.sh``) with in-memory storage: it receives OTLP
over HTTP on the port of ``DAIKO_OTLP_ENDPOINT`` and serves its query API
(``/api/traces``, ``/api/services``) and UI on ``DAIKO_JAEGER_UI_PORT``, both on
127.0.0.1 only. Its query gRPC port is the UI port minus one. Traces live as long
as the process: a restart forgets them, which suits a development stack.
``DAIKO_TRACING=false`` leaves the part out (and every process then exports nothing).
"""

from __future__ import annotations

from urllib.parse import urlparse

import yaml

from daiko.settings import DaikoSettings
from devstack.parts import Part, StackError, answers_ok
from devstack.processes import spawn
from devstack.tools import tool

MAX_TRACES = 50_000  # in memory: the oldest traces go first


class Jaeger(Part):
    """Jaeger all-in-one: OTLP/HTTP receiver, memory storage, query API and UI."""

    def __init__(self, settings: DaikoSettings) -> None:
        endpoint = urlparse(settings.otlp_endpoint)
        super().__init__(
            "jaeger", settings, endpoint.hostname or "127.0.0.1", [endpoint.port or 4318, settings.jaeger_ui_port]
        )

    @property
    def ui(self) -> str:
        return f"http://{self.host}:{self.ports[1]}"

    @property
    def address(self) -> str:
        """What ``daiko-stack status`` shows: where a person looks at traces."""
        return self.ui

    def urls(self) -> list[str]:
        return [
            f"Jaeger UI  {self.ui} (traces; API {self.ui}/api/traces?service=orders)",
            f"OTLP/HTTP  http://{self.host}:{self.ports[0]}",
        ]

    def config(self) -> dict[str, object]:
        """The collector configuration: only OTLP/HTTP in, only the query service out, nothing on 0.0.0.0."""
        otlp, ui = self.ports
        return {
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query"],
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        "processors": ["batch"],
                        "exporters": ["jaeger_storage_exporter"],
                    }
                },
                # Its own metrics would listen on 8888 for every clone on the machine: off.
                "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
            },
            "extensions": {
                "jaeger_storage": {"backends": {"memory_store": {"memory": {"max_traces": MAX_TRACES}}}},
                "jaeger_query": {
                    "storage": {"traces": "memory_store"},
                    "http": {"endpoint": f"{self.host}:{ui}"},
                    "grpc": {"endpoint": f"{self.host}:{ui - 1}"},
                },
            },
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"{self.host}:{otlp}"}}}},
            "processors": {"batch": {}},
            "exporters": {"jaeger_storage_exporter": {"trace_storage": "memory_store"}},
        }

    def prepare(self) -> None:
        binary = tool("jaeger")
        if not binary.is_file():
            raise StackError(
                f"Jaeger is not built ({binary}): run `bash deploy/bootstrap.sh` (or set DAIKO_TRACING=false)"
            )

    def start(self) -> None:
        config = self.state / "jaeger" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        spawn(
            [str(tool("jaeger")), "--config", str(config)],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.state,
            env=self.child_env(),
        )

    async def healthy(self) -> bool:
        return await answers_ok(f"{self.ui}/api/services")


def jaeger_parts(settings: DaikoSettings) -> list[Part]:
    """The part when tracing is on (``DAIKO_TRACING``), none when it is off."""
    return [Jaeger(settings)] if settings.tracing else []
