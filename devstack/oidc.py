"""The local stack's OpenID Connect provider: panva's node-oidc-provider with development users.

A real, certified provider from the npm registry (``deploy/oidc``: ``package.json``,
its lockfile and the configuration script ``provider.js``), so the portal's
sign-in runs the same authorization code + PKCE flow it runs against the
agency's identity provider in production. Its issuer is on the edge's origin
(``http://127.0.0.1:8100/oidc``, the edge proxies ``/oidc/`` to it), so the
browser never leaves the portal's origin; the services fetch its keys from it
directly (``DAIKO_OIDC_JWKS_URL``). Development only: production trusts the
agency's provider alone.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.edge import npm_ci
from devstack.parts import Part, StackError, answers_ok
from devstack.processes import spawn

PROVIDER = PROJECT_ROOT / "deploy" / "oidc"
USERS = ("cust-1", "cust-2", "staff-1")
"""The development users of ``deploy/oidc/provider.js``: sign in with one of these ids and any password."""


class OidcProvider(Part):
    """``node deploy/oidc/provider.js`` on ``DAIKO_OIDC_PORT``, its keys under ``.daiko/oidc``."""

    def __init__(self, settings: DaikoSettings) -> None:
        super().__init__("oidc", settings, "127.0.0.1", [settings.oidc_port])

    @property
    def home(self) -> Path:
        return self.state / "oidc"

    @property
    def issuer(self) -> str:
        if not self.settings.oidc_issuer:
            raise StackError("DAIKO_OIDC_ISSUER is not set (production has no local provider)")
        return self.settings.oidc_issuer

    def urls(self) -> list[str]:
        return [f"oidc       {self.issuer} (development users: {', '.join(USERS)}, any password)"]

    def redirect_uris(self) -> list[str]:
        port = self.settings.edge_port
        return [f"http://{host}:{port}/auth/callback" for host in ("127.0.0.1", "localhost")]

    def prepare(self) -> None:
        npm_ci(PROVIDER, self.home, who=self.name)

    def start(self) -> None:
        env = self.child_env()
        env.update(
            OIDC_PORT=str(self.ports[0]),
            OIDC_ISSUER=self.issuer,
            OIDC_AUDIENCE=self.settings.jwt_audience,
            OIDC_REDIRECT_URIS=",".join(self.redirect_uris()),
            OIDC_STATE_DIR=str(self.home),
        )
        spawn(
            ["node", str(PROVIDER / "provider.js")],
            log_file=self.log_file,
            pid_file=self.pid_file,
            cwd=PROVIDER,
            env=env,
        )

    async def healthy(self) -> bool:
        path = urlsplit(self.issuer).path.rstrip("/")
        return await answers_ok(f"http://{self.address}{path}/.well-known/openid-configuration")
