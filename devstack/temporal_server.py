"""Temporal as production runs it: the Temporal server on the stack's PostgreSQL, and its Web UI server.

The dev server (``temporal server start-dev``) keeps everything in one SQLite
file with a single writer; it was the serial wall under load (issue 12). This
part runs the real server (``temporal-server``, built by
``deploy/bootstrap.d/30-temporal.sh``) with its two databases, ``temporal`` and
``temporal_visibility``, in the stack's own PostgreSQL cluster. Their schemas
are applied and brought up to date by ``temporal-sql-tool`` on ``up``
(idempotent), the ``default`` namespace and the orders' search attributes are
registered once the frontend answers, and every port the four services use
(frontend, history, matching, worker; gRPC and membership) is derived from the
port of ``DAIKO_TEMPORAL_ADDRESS`` and stays inside ``[port, port + 60)``, so
several stacks run side by side on one machine. The Web UI server
(``temporal-ui-server``, built from ``deploy/temporal-ui``) is its own part on
``DAIKO_TEMPORAL_UI_PORT``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import yaml

from daiko.registry import registered_services
from daiko.settings import DaikoSettings
from devstack.parts import TEMPORAL_LIMITS, Part, StackError, answers_ok, temporal_cli
from devstack.processes import port_open, spawn
from devstack.tools import tool

DATABASES = {"temporal": "postgresql/v12/temporal", "temporal_visibility": "postgresql/v12/visibility"}
"""Temporal's two databases in the stack's cluster, each with the schema ``temporal-sql-tool`` keeps current."""

HISTORY_SHARDS = 4
"""Fixed when the databases are first set up; a few shards are plenty for one machine."""

PORT_OFFSETS = {
    "frontend": (0, 1, 2),  # gRPC (DAIKO_TEMPORAL_ADDRESS), membership, HTTP API
    "history": (10, 11),
    "matching": (20, 21),
    "worker": (30, 31),
}
"""Each service's ports above the frontend's: a stack's Temporal keeps inside ``[port, port + 60)``."""

NAMESPACE_RETENTION = "72h"
"""How long a closed order's history stays readable in the Web UI (the read model keeps the order)."""

BUILD_HINT = "run `bash deploy/bootstrap.sh` (it builds the Temporal server from the Go module proxy, ~3-4 min)"


def _binary(name: str) -> Path:
    path = tool(name)
    if not path.exists():
        raise StackError(f"{path} is missing: {BUILD_HINT}")
    return path


class TemporalServer(Part):
    """The Temporal server (frontend, history, matching, worker in one process) on PostgreSQL."""

    def __init__(self, settings: DaikoSettings) -> None:
        host, _, port = settings.temporal_address.rpartition(":")
        base = int(port)
        self.service_ports = {name: [base + o for o in offsets] for name, offsets in PORT_OFFSETS.items()}
        super().__init__(
            "temporal", settings, host or "127.0.0.1", [p for ps in self.service_ports.values() for p in ps]
        )

    @property
    def home(self) -> Path:
        return self.state / "temporal"

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    def urls(self) -> list[str]:
        names = ", ".join(DATABASES)
        return [f"temporal frontend {self.address} (Temporal server on PostgreSQL, databases: {names})"]

    # ------------------------------------------------------------------ configuration

    def config(self) -> dict[str, object]:
        """``development.yaml`` of the server: the two postgres12 datastores, the ports, one cluster."""
        settings = self.settings

        def datastore(database: str, connections: int) -> dict[str, object]:
            return {
                "sql": {
                    "pluginName": "postgres12",
                    "databaseName": database,
                    "connectAddr": f"{settings.postgres_host}:{settings.postgres_port}",
                    "connectProtocol": "tcp",
                    "user": settings.postgres_user,
                    "password": settings.postgres_password.get_secret_value(),
                    "maxConns": connections,
                    "maxIdleConns": connections,
                    "maxConnLifetime": "1h",
                }
            }

        def rpc(service: str) -> dict[str, object]:
            ports = self.service_ports[service]
            answer: dict[str, object] = {"grpcPort": ports[0], "membershipPort": ports[1], "bindOnIP": self.host}
            if len(ports) > 2:
                answer["httpPort"] = ports[2]
            return {"rpc": answer}

        return {
            "log": {"stdout": True, "level": "warn"},
            "persistence": {
                "defaultStore": "postgres-default",
                "visibilityStore": "postgres-visibility",
                "numHistoryShards": HISTORY_SHARDS,
                "datastores": {
                    "postgres-default": datastore("temporal", 10),
                    "postgres-visibility": datastore("temporal_visibility", 4),
                },
            },
            "global": {"membership": {"maxJoinDuration": "30s", "broadcastAddress": self.host}},
            "services": {name: rpc(name) for name in PORT_OFFSETS},
            "clusterMetadata": {
                "enableGlobalNamespace": False,
                "failoverVersionIncrement": 10,
                "masterClusterName": "active",
                "currentClusterName": "active",
                "clusterInformation": {
                    "active": {
                        "enabled": True,
                        "initialFailoverVersion": 1,
                        "rpcName": "frontend",
                        "rpcAddress": self.address,
                    }
                },
            },
            "dcRedirectionPolicy": {"policy": "noop"},
            "dynamicConfigClient": {"filepath": str(self.config_dir / "dynamicconfig.yaml"), "pollInterval": "10s"},
        }

    @staticmethod
    def dynamic_config() -> dict[str, list[dict[str, object]]]:
        """The history limits (``TEMPORAL_LIMITS``) as the server's dynamic-config file says them."""
        return {key: [{"value": value}] for key, value in TEMPORAL_LIMITS.items()}

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> None:
        _binary("temporal-server")  # missing binaries are named before anything is written
        sql_tool = _binary("temporal-sql-tool")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        config = self.config_dir / "development.yaml"
        config.touch(mode=0o600)  # it holds the database password
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        (self.config_dir / "dynamicconfig.yaml").write_text(yaml.safe_dump(self.dynamic_config(), sort_keys=False))
        asyncio.run(self._ensure_databases())
        self._ensure_schemas(sql_tool)

    async def _ensure_databases(self) -> None:
        """Temporal's databases in the stack's cluster (PostgreSQL was started just before, in this wave)."""
        import asyncpg

        settings = self.settings
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            try:
                conn = await asyncpg.connect(
                    host=settings.postgres_host,
                    port=settings.postgres_port,
                    user=settings.postgres_user,
                    password=settings.postgres_password.get_secret_value(),
                    database="postgres",
                    timeout=5,
                )
                break
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise StackError("temporal needs PostgreSQL, which did not answer within 60 s") from None
                await asyncio.sleep(0.3)
        try:
            for name in DATABASES:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    def _ensure_schemas(self, sql_tool: Path) -> None:
        """``setup-schema`` once per database, then ``update-schema`` whenever the tool's version changed."""
        stamp = self.home / "schema.version"
        built = tool(".temporal-sql-tool.version")
        wanted = built.read_text() if built.exists() else str(sql_tool.stat().st_mtime)
        if stamp.exists() and stamp.read_text() == wanted:
            return
        settings = self.settings
        for database, schema in DATABASES.items():
            common = [
                str(sql_tool),
                "--plugin", "postgres12",
                "--ep", settings.postgres_host,
                "--port", str(settings.postgres_port),
                "--user", settings.postgres_user,
                "--password", settings.postgres_password.get_secret_value(),
                "--db", database,
            ]  # fmt: skip
            if not self._has_schema(common):
                self._sql([*common, "setup-schema", "--version", "0.0"])
            self._sql([*common, "update-schema", "--schema-name", schema])
        stamp.write_text(wanted)

    def _has_schema(self, common: list[str]) -> bool:
        """Whether ``setup-schema`` ran: its ``schema_version`` table exists (asked through psql-free SQL)."""
        import asyncpg

        settings = self.settings
        database = common[common.index("--db") + 1]

        async def ask() -> bool:
            conn = await asyncpg.connect(
                host=settings.postgres_host,
                port=settings.postgres_port,
                user=settings.postgres_user,
                password=settings.postgres_password.get_secret_value(),
                database=database,
            )
            try:
                return bool(await conn.fetchval("SELECT to_regclass('public.schema_version') IS NOT NULL"))
            finally:
                await conn.close()

        return asyncio.run(ask())

    def _sql(self, cmd: list[str]) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(cmd, capture_output=True, text=True)
        with open(self.log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise StackError(f"temporal-sql-tool {' '.join(cmd[-3:])} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        spawn(
            [
                str(_binary("temporal-server")),
                "--root", str(self.home),
                "--config", "config",
                "--env", "development",
                "--allow-no-auth",
                "start",
            ],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.home,
            env=self.child_env(),
        )  # fmt: skip

    async def healthy(self) -> bool:
        answer = await temporal_cli(self.settings, "operator", "cluster", "health")
        return answer is not None and "SERVING" in answer

    async def after_healthy(self) -> None:
        """The namespace, then the search attributes staff filter on (both idempotent)."""
        namespace = self.settings.temporal_namespace
        if await temporal_cli(self.settings, "operator", "namespace", "describe", "--namespace", namespace) is None:
            created = await temporal_cli(
                self.settings, "operator", "namespace", "create", "--namespace", namespace,
                "--retention", NAMESPACE_RETENTION,
            )  # fmt: skip
            if created is None:
                raise StackError(f"temporal: could not create the namespace {namespace!r}; see {self.log_file}")
        wanted = {name: kind for r in registered_services() for name, kind in r.search_attributes}
        for _ in range(60):  # a new namespace reaches the frontend's cache within seconds
            listed = await temporal_cli(
                self.settings, "operator", "search-attribute", "list", "--namespace", namespace, "--output", "json"
            )
            if listed is not None:
                known = _search_attribute_names(listed)
                missing = [name for name in wanted if name not in known]
                if not missing:
                    return
                for name in missing:
                    await temporal_cli(
                        self.settings, "operator", "search-attribute", "create", "--namespace", namespace,
                        "--name", name, "--type", wanted[name],
                    )  # fmt: skip
            await asyncio.sleep(0.5)
        raise StackError(f"temporal: could not register the search attributes {sorted(wanted)}; see {self.log_file}")


def _search_attribute_names(listed: str) -> set[str]:
    """Names in ``temporal operator search-attribute list --output json`` (custom and system)."""
    data = json.loads(listed)
    if isinstance(data, dict):
        return {name for group in data.values() if isinstance(group, dict) for name in group}
    return {row.get("name", "") for row in data if isinstance(row, dict)}


class TemporalUI(Part):
    """The Temporal Web UI server against the stack's Temporal, for staff (``DAIKO_TEMPORAL_UI_PORT``)."""

    def __init__(self, settings: DaikoSettings) -> None:
        super().__init__("temporal-ui", settings, "127.0.0.1", [settings.temporal_ui_port])

    @property
    def home(self) -> Path:
        return self.state / "temporal-ui"

    def urls(self) -> list[str]:
        return [f"Temporal Web UI  http://{self.address}"]

    def config(self) -> dict[str, object]:
        return {
            "temporalGrpcAddress": self.settings.temporal_address,
            "host": self.host,
            "port": self.ports[0],
            "publicPath": "",
            "enableUi": True,
            "defaultNamespace": self.settings.temporal_namespace,
            "refreshInterval": "1m",
            "disableNewsFetch": True,  # no internet here; staff need no release news
            "notifyOnNewVersion": False,
            "cors": {"allowOrigins": [f"http://{self.address}"], "cookieInsecure": True},
            "auth": {"enabled": False},
        }

    def prepare(self) -> None:
        _binary("temporal-ui-server")
        config_dir = self.home / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "development.yaml").write_text(yaml.safe_dump(self.config(), sort_keys=False))

    def start(self) -> None:
        spawn(
            [str(_binary("temporal-ui-server")), "--root", str(self.home), "--config", "config",
             "--env", "development", "start"],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.home,
            env=self.child_env(),
        )  # fmt: skip

    async def healthy(self) -> bool:
        if not port_open(self.host, self.ports[0]):
            return False
        return await answers_ok(f"http://{self.address}/api/v1/settings")


def parts(settings: DaikoSettings) -> list[Part]:
    """The Temporal parts of the stack, in start order (``devstack.parts.all_parts``)."""
    return [TemporalServer(settings), TemporalUI(settings)]
