"""The edge: one origin for the portal and the three APIs, with limits, security headers and problem answers.

Against the stack's own nginx (``daiko-stack up`` starts it on ``DAIKO_EDGE_PORT``),
and, for an upstream that is down, a second nginx rendered from the same
template by the same part with one upstream pointing at a closed port.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from limits import parse

from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.edge import API_MAX_BODY_BYTES, Edge, build_portal, messaging_max_body_bytes, portal_config
from tests.conftest import StackSettings, bearer, customer_token
from tests.deploy.test_compose import INTERPOLATED

PATIENT_TRIES = 1200
"""Polls 50 ms apart before a test gives up: patience on a busy machine, not a measured time."""

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
)


def edge_url(settings: DaikoSettings, path: str) -> str:
    return f"http://127.0.0.1:{settings.edge_port}{path}"


def fresh_address() -> str:
    """An address of its own in 127/8 (never the edge's 127.0.0.2), so its rate-limit windows start empty."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(3, 254)}"


def client_from(address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30)


@pytest.fixture
async def http(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_api_paths_reach_their_service_with_the_prefix_stripped(
    stack: StackSettings, http: httpx.AsyncClient
) -> None:
    for service in ("orders", "deposits", "messaging"):
        answer = await http.get(edge_url(stack, f"/api/{service}/healthz"))
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "service": service}
    orders = await http.get(edge_url(stack, "/api/orders/v1/orders"), headers=bearer(customer_token(stack, "cust-e")))
    assert orders.status_code == 200, orders.text


async def test_every_answer_carries_the_security_headers(stack: StackSettings, http: httpx.AsyncClient) -> None:
    for path in ("/", "/config.json", "/api/orders/healthz", "/api/orders/v1/orders"):
        answer = await http.get(edge_url(stack, path))
        for header in SECURITY_HEADERS:
            assert header in answer.headers, f"{path} lacks {header}"
        assert answer.headers["x-content-type-options"] == "nosniff"
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_any_page_path_is_the_single_page_app_and_never_cached(
    stack: StackSettings, http: httpx.AsyncClient
) -> None:
    root = await http.get(edge_url(stack, "/"))
    deep = await http.get(edge_url(stack, "/orders/P-123/messages"))
    assert root.status_code == deep.status_code == 200
    assert deep.text == root.text and "<html" in root.text
    assert deep.headers["content-type"].startswith("text/html")
    assert deep.headers["cache-control"] == "no-cache"


async def test_config_json_tells_the_portal_how_to_sign_in(stack: StackSettings, http: httpx.AsyncClient) -> None:
    answer = await http.get(edge_url(stack, "/config.json"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    config = answer.json()
    assert config == json.loads(json.dumps(portal_config(stack)))
    assert config["dev_sign_in"] is True  # the stack runs in development
    assert set(config) == {"environment", "dev_sign_in", "oidc", "temporal_ui_url", "agency"}


def test_production_config_offers_no_development_sign_in() -> None:
    production = DaikoSettings.model_construct(**{**DaikoSettings().model_dump(), "environment": "production"})
    assert portal_config(production)["dev_sign_in"] is False


async def test_a_body_over_the_api_limit_is_a_413_problem(stack: StackSettings, http: httpx.AsyncClient) -> None:
    answer = await http.post(
        edge_url(stack, "/api/orders/v1/orders"),
        content=b"x" * (API_MAX_BODY_BYTES + 1),
        headers={**bearer(customer_token(stack, "cust-big")), "content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/request-too-large")


async def test_messaging_accepts_through_the_edge_what_it_accepts_itself(stack: StackSettings) -> None:
    """The edge lets a message of the largest size messaging allows through, to be judged by messaging."""
    assert messaging_max_body_bytes() > API_MAX_BODY_BYTES
    conf = (stack.state_dir / "edge" / "daiko.conf").read_text()
    assert f"client_max_body_size {messaging_max_body_bytes()};" in conf


async def test_the_client_cannot_choose_its_address_by_x_forwarded_for(stack: StackSettings) -> None:
    """Behind the edge each client keeps its own failed-authentication limit, whatever it writes in the header.

    The edge replaces the header with the peer's address and the services believe it from the edge only:
    one address past its limit is refused, another address through the same edge is not.
    """
    allowed = parse(stack.rate_limit_auth_failures).amount
    target = edge_url(stack, "/api/orders/v1/orders")
    async with client_from(fresh_address()) as guesser:
        for n in range(allowed):
            forged = {"X-Forwarded-For": fresh_address(), **bearer(f"not-a-token-{n}")}
            assert (await guesser.get(target, headers=forged)).status_code == 401
        refused = await guesser.get(target, headers={"X-Forwarded-For": fresh_address(), **bearer("again")})
        assert refused.status_code == 429, refused.text
    async with client_from(fresh_address()) as other:
        assert (await other.get(target, headers=bearer("a-first-bad-token"))).status_code == 401


async def test_a_service_believes_x_forwarded_for_from_the_edge_only(stack: StackSettings) -> None:
    """Straight to the service, a forged header changes nothing: the peer's own address is counted."""
    allowed = parse(stack.rate_limit_auth_failures).amount
    target = f"http://127.0.0.1:{stack.orders_port}/v1/orders"
    async with client_from(fresh_address()) as guesser:
        for n in range(allowed):
            forged = {"X-Forwarded-For": fresh_address(), **bearer(f"not-a-token-{n}")}
            assert (await guesser.get(target, headers=forged)).status_code == 401
        refused = await guesser.get(target, headers={"X-Forwarded-For": fresh_address(), **bearer("again")})
        assert refused.status_code == 429, refused.text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def edge_with_orders_down(stack: StackSettings, tmp_path: Path) -> AsyncIterator[str]:
    """A second edge from the same template and part, whose orders upstream is a closed port."""
    settings = DaikoSettings.model_construct(
        **{**stack.model_dump(), "state_dir": tmp_path, "edge_port": _closed_port()}
    )
    edge = Edge(settings)
    down = next(port for port in iter(_closed_port, None) if port != settings.edge_port)
    edge.write_config({**edge.template_values(), "EDGE_ORDERS_UPSTREAM": f"127.0.0.1:{down}"})
    edge.start()
    try:
        for _ in range(PATIENT_TRIES):
            if await edge.healthy():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the second edge did not start: {edge.log_file.read_text()}")
        yield f"http://{edge.address}"
    finally:
        edge.stop()


async def test_a_service_that_is_down_is_a_502_problem_not_an_html_page(edge_with_orders_down: str) -> None:
    async with httpx.AsyncClient(base_url=edge_with_orders_down, timeout=30) as http:
        answer = await http.get("/api/orders/v1/orders")
        assert answer.status_code == 502
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["status"] == 502 and problem["type"].endswith("/upstream-unavailable")
        assert "content-security-policy" in answer.headers
        assert (await http.get("/api/deposits/healthz")).status_code == 200  # the others still answer


def write_portal(portal: Path) -> None:
    """A minimal portal whose build appends a line to dist/index.html (so each build shows)."""
    (portal / "src").mkdir(parents=True, exist_ok=True)
    (portal / "package.json").write_text(
        json.dumps(
            {
                "name": "portal-build-check",
                "private": True,
                "scripts": {
                    "build": "node -e \"require('fs').mkdirSync('dist',{recursive:true});"
                    "require('fs').appendFileSync('dist/index.html','built\\n')\""
                },
            }
        )
    )
    (portal / "package-lock.json").write_text(
        json.dumps({"name": "portal-build-check", "lockfileVersion": 3, "requires": True, "packages": {"": {}}})
    )
    (portal / "src" / "main.ts").write_text("export {}\n")


def test_the_portal_is_built_only_when_its_sources_changed(tmp_path: Path) -> None:
    """``make up`` runs ``npm run build`` when a source is newer than the last build, and not otherwise."""
    portal = tmp_path / "portal"
    write_portal(portal)
    stamps = tmp_path / "stamps"
    assert build_portal(portal, stamps) is True
    assert build_portal(portal, stamps) is False
    assert (portal / "dist" / "index.html").read_text() == "built\n"
    newer = (stamps / "portal-build.stamp").stat().st_mtime + 5
    (portal / "src" / "main.ts").write_text("export const changed = true\n")
    os.utime(portal / "src" / "main.ts", (newer, newer))
    assert build_portal(portal, stamps) is True
    assert (portal / "dist" / "index.html").read_text() == "built\nbuilt\n"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_the_same_edge_with_the_same_limits() -> None:
    """One template for both edges; compose's limits and trust are the local stack's."""
    compose = _compose()["services"]
    edge = compose["edge"]
    env = edge["environment"]
    dockerfile = PROJECT_ROOT / edge["build"]["dockerfile"]
    assert "deploy/edge/daiko.conf.template" in dockerfile.read_text()
    assert int(env["EDGE_MESSAGING_MAX_BODY"]) == messaging_max_body_bytes()
    assert int(env["EDGE_API_MAX_BODY"]) == API_MAX_BODY_BYTES
    template = (PROJECT_ROOT / "deploy" / "edge" / "daiko.conf.template").read_text()
    needed = set(re.findall(r"\$\{(EDGE_\w+)\}", template))
    assert needed <= set(env), f"compose's edge lacks {needed - set(env)}"
    address = edge["networks"]["default"]["ipv4_address"]
    for name in ("orders", "deposits", "messaging"):
        command = compose[name]["command"]
        assert command[command.index("--forwarded-allow-ips") + 1] == address


def test_compose_config_json_has_the_shape_the_local_edge_serves() -> None:
    env = _compose()["services"]["edge"]["environment"]
    shipped = {k: INTERPOLATED.sub(lambda m: m.group("default"), str(v)) for k, v in env.items()}
    rendered = string.Template((PROJECT_ROOT / "deploy" / "edge" / "config.json.template").read_text())
    config = json.loads(rendered.substitute(shipped))
    local = portal_config(DaikoSettings(edge_port=8100))  # as shipped, whatever this shell moved
    assert set(config) == set(local)
    assert config["dev_sign_in"] is True and set(config["agency"]) == set(local["agency"])
    assert (
        config["oidc"]
        == local["oidc"]
        == {
            "issuer": "http://127.0.0.1:8100/oidc",
            "client_id": "daiko-portal",
            "scope": "openid profile daiko",
        }
    )


async def test_up_on_a_running_edge_serves_a_portal_built_since(stack: StackSettings, tmp_path: Path) -> None:
    """The edge serves the placeholder until the portal exists; ``up`` then builds it and reloads nginx."""
    portal = tmp_path / "portal"
    settings = DaikoSettings.model_construct(
        **{**stack.model_dump(), "state_dir": tmp_path / "state", "edge_port": _closed_port()}
    )
    edge = Edge(settings, portal=portal)
    edge.prepare()
    edge.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://{edge.address}", timeout=30) as http:
            for _ in range(PATIENT_TRIES):
                if await edge.healthy():
                    break
                await asyncio.sleep(0.05)
            assert "The portal is not built" in (await http.get("/")).text
            write_portal(portal)
            edge.refresh()
            for _ in range(PATIENT_TRIES):  # nginx's workers take the new configuration as they restart
                page = (await http.get("/orders/P-1")).text
                if page == "built\n":
                    break
                await asyncio.sleep(0.05)
            assert page == "built\n"
    finally:
        edge.stop()
