"""The edge of the local stack: Debian's nginx, serving the portal and routing the APIs on one origin.

The portal (``portal/``, built to ``portal/dist``) and the three services' APIs
share one origin, ``http://127.0.0.1:8100`` by default, so the browser needs no
CORS and the services no browser-facing configuration: ``/api/<service>/`` is
routed to the service with the prefix stripped. The server block is the
committed template ``deploy/edge/daiko.conf.template``, which docker-compose.yml
mounts into the nginx image too; here it is rendered with the local ports and
wrapped in a main config of our own, so the nginx process, its pid file, logs
and temporary files all live under ``.daiko/edge`` and the package's system
service is never involved.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import string
import time
from pathlib import Path
from typing import Any

from daiko.registry import registered_services
from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.parts import Part, StackError, _run, answers_ok
from devstack.processes import spawn

TEMPLATE = PROJECT_ROOT / "deploy" / "edge" / "daiko.conf.template"
PLACEHOLDER = PROJECT_ROOT / "deploy" / "edge" / "placeholder"
PORTAL = PROJECT_ROOT / "portal"
API_MAX_BODY_BYTES = 2 * 1024 * 1024
"""Every API but messaging's takes JSON only: the largest application within the orders API's limits fits."""

SKIPPED_IN_PORTAL = {"node_modules", "dist", "test-results", "playwright-report"}
"""What the portal's build neither reads nor should be rebuilt for (its output, its dependencies, test output)."""


def messaging_max_body_bytes() -> int:
    """What the messaging service itself accepts for a message with photos (``services/messaging/uploads.py``)."""
    from services.messaging.settings import MessagingSettings
    from services.messaging.uploads import FORM_OVERHEAD

    settings = MessagingSettings()
    return settings.attachment_max_count * settings.attachment_max_bytes + FORM_OVERHEAD


def portal_config(settings: DaikoSettings) -> dict[str, Any]:
    """``GET /config.json``: what the portal needs to know about this deployment before it signs anyone in."""
    temporal_host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
    return {
        "environment": settings.environment,
        "dev_sign_in": not settings.is_production,
        "oidc": (
            {
                "issuer": settings.oidc_issuer,
                "client_id": settings.oidc_client_id,
                "scope": settings.oidc_scope,
            }
            if settings.oidc_issuer
            else None
        ),
        "temporal_ui_url": f"http://{temporal_host}:{settings.temporal_ui_port}",
        "agency": {"name": settings.agency_name},
    }


def render_server_block(values: dict[str, str]) -> str:
    """The committed template with the ``${EDGE_*}`` placeholders filled; nginx's own ``$variables`` stay."""
    template = string.Template(TEMPLATE.read_text())
    missing = {
        m.group("braced")
        for m in template.pattern.finditer(template.template)
        if m.group("braced") and m.group("braced").startswith("EDGE_") and m.group("braced") not in values
    }
    if missing:
        raise StackError(f"{TEMPLATE} needs values for {', '.join(sorted(missing))}")
    return template.safe_substitute(values)


def _newest_source(portal: Path) -> float:
    newest = 0.0
    for root, dirs, files in os.walk(portal):
        dirs[:] = [d for d in dirs if d not in SKIPPED_IN_PORTAL and not d.startswith(".")]
        for name in files:
            newest = max(newest, (Path(root) / name).stat().st_mtime)
    return newest


def npm_ci(folder: Path, stamps: Path, *, who: str) -> bool:
    """``npm ci`` in ``folder`` when its lockfile differs from the one last installed (a digest in ``stamps``)."""
    stamps.mkdir(parents=True, exist_ok=True)
    lock = folder / "package-lock.json"
    if not lock.exists():
        raise StackError(f"{lock} is missing: commit the lockfile (npm install writes it)")
    installed = stamps / f"npm-ci-{folder.name}.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if (folder / "node_modules").is_dir() and installed.exists() and installed.read_text() == digest:
        return False
    print(
        f"  {who:<10} npm ci in {folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder}"
        " (its lockfile changed)",
        flush=True,
    )
    if not shutil.which("npm"):
        raise StackError("npm not found: run `make bootstrap` (deploy/bootstrap.d/25-oidc.sh installs Node.js)")
    _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder)
    installed.write_text(digest)
    return True


def build_portal(portal: Path, stamps: Path) -> bool:
    """``npm ci`` when the lockfile changed, ``npm run build`` when a source is newer than the last build.

    Returns whether it built. Nothing happens before ``portal/package.json`` exists.
    """
    if not (portal / "package.json").exists():
        return False
    npm_ci(portal, stamps, who="edge")
    built = stamps / "portal-build.stamp"
    if built.exists() and (portal / "dist" / "index.html").exists() and _newest_source(portal) <= built.stat().st_mtime:
        return False
    print("  edge       npm run build in portal/ (its sources changed)", flush=True)
    began = time.time()
    _run(["npm", "run", "build"], cwd=portal)
    built.touch()
    os.utime(built, (began, began))  # a source saved during the build is newer: the next up builds again
    return True


class Edge(Part):
    """Debian's nginx as our own process (``nginx -p .daiko/edge -c nginx.conf``), never the system service."""

    def __init__(self, settings: DaikoSettings, portal: Path = PORTAL) -> None:
        super().__init__("edge", settings, "127.0.0.1", [settings.edge_port])
        self.portal = portal

    @property
    def home(self) -> Path:
        return self.state / "edge"

    @property
    def pid_file(self) -> Path:
        return self.home / "nginx.pid"

    def urls(self) -> list[str]:
        return [f"portal     http://{self.address}/ (the edge: portal, /api/<service>/, /config.json)"]

    @property
    def root(self) -> Path:
        """The built portal, or a placeholder page while this checkout has none."""
        dist = self.portal / "dist"
        return dist if (dist / "index.html").exists() else PLACEHOLDER

    def template_values(self) -> dict[str, str]:
        ports = {r.name: r.settings().port for r in registered_services()}
        return {
            "EDGE_LISTEN": f"{self.host}:{self.ports[0]}",
            "EDGE_ROOT": str(self.root),
            "EDGE_CONFIG_JSON": str(self.home / "config.json"),
            "EDGE_ORDERS_UPSTREAM": f"127.0.0.1:{ports['orders']}",
            "EDGE_DEPOSITS_UPSTREAM": f"127.0.0.1:{ports['deposits']}",
            "EDGE_MESSAGING_UPSTREAM": f"127.0.0.1:{ports['messaging']}",
            "EDGE_OIDC_UPSTREAM": f"127.0.0.1:{self.settings.oidc_port}",
            "EDGE_OIDC_ORIGIN": "",  # the local issuer is on this origin: 'self' covers it
            "EDGE_PROXY_BIND": self.settings.edge_proxy_address,
            "EDGE_API_MAX_BODY": str(API_MAX_BODY_BYTES),
            "EDGE_MESSAGING_MAX_BODY": str(messaging_max_body_bytes()),
        }

    def main_config(self) -> str:
        """The main context around the shared server block: everything nginx writes stays in ``home``."""
        temp = self.home / "tmp"
        # As root, nginx's workers drop to an unprivileged user, which must write the temp folders.
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        return (
            "# Generated by devstack/edge.py at `daiko-stack up`; edit deploy/edge/daiko.conf.template instead.\n"
            f"{user}daemon off;\nworker_processes 1;\npid {self.pid_file};\nerror_log stderr warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            "    default_type application/octet-stream;\n"
            f"    access_log {self.home / 'access.log'};\n"
            f"    client_body_temp_path {temp / 'client_body'};\n"
            f"    proxy_temp_path {temp / 'proxy'};\n"
            f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
            f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
            f"    scgi_temp_path {temp / 'scgi'};\n"
            "    sendfile on;\n"
            "    types_hash_max_size 2048;\n"
            f"    include {self.home / 'daiko.conf'};\n"
            "}\n"
        )

    @staticmethod
    def nginx() -> str:
        found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if not found:
            raise StackError("nginx not found: run `make bootstrap` (deploy/bootstrap.d/20-edge.sh installs it)")
        return found

    def prepare(self) -> None:
        build_portal(self.portal, self.home)
        self.write_config(self.template_values())

    def refresh(self) -> None:
        """Running already: rebuild the portal if its sources changed, and reload nginx if its config did."""
        build_portal(self.portal, self.home)
        before = (self.home / "daiko.conf").read_text() if (self.home / "daiko.conf").exists() else ""
        self.write_config(self.template_values())
        pid = self.running_pid()
        if pid is not None and (self.home / "daiko.conf").read_text() != before:
            os.kill(pid, signal.SIGHUP)  # nginx re-reads its config without dropping connections
            print("  edge       reloaded (its configuration changed)", flush=True)

    def write_config(self, values: dict[str, str]) -> None:
        """The generated files under ``home``, checked by ``nginx -t`` before anything starts."""
        temp = self.home / "tmp"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / name).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            for path in [temp, *temp.iterdir()]:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            # ...and reach config.json: every folder above it must be traversable (as for PostgreSQL).
            for parent in [self.home, *self.home.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
        (self.home / "config.json").write_text(json.dumps(portal_config(self.settings), indent=2) + "\n")
        (self.home / "daiko.conf").write_text(render_server_block(values))
        (self.home / "nginx.conf").write_text(self.main_config())
        _run([self.nginx(), "-t", "-q", "-e", "stderr", "-p", str(self.home), "-c", str(self.home / "nginx.conf")])

    def start(self) -> None:
        spawn(
            [self.nginx(), "-e", "stderr", "-p", str(self.home), "-c", str(self.home / "nginx.conf")],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=self.home,
            env=self.child_env(),
        )

    async def healthy(self) -> bool:
        return await answers_ok(f"http://{self.address}/config.json")
