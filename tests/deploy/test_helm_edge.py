"""The chart's edge (deploy/helm/daiko/templates/_edge.tpl) run for real: Debian's nginx with the rendered
nginx.conf, in front of the local stack's three services.

The config names the services by their Kubernetes Service names (``daiko-orders`` ...) and keeps its
pid and temporary files in /tmp, as in the pod. So nginx runs in a mount namespace of its own
(``unshare --mount``), where /etc/hosts maps those names to 127.0.0.1 and /tmp is a folder of this
test: nothing outside the namespace sees either. The services' ports and the edge's are the stack's
and a free one (``--set``); everything else is the chart's default config.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import StackSettings
from tests.deploy.test_helm_chart import CHART, HELM, MISSING, RELEASE, SERVICES, name

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
UNSHARE = shutil.which("unshare")


def _why_not() -> str | None:
    if MISSING:
        return MISSING
    if not Path(NGINX).is_file():
        return "nginx is not installed (Debian's nginx: apt-get install nginx)"
    if UNSHARE is None or os.geteuid() != 0:
        return "needs root and unshare (util-linux) for a private mount namespace"
    return None


pytestmark = [pytest.mark.stack, pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def edge(stack: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The edge's nginx on a free port; yields its base URL."""
    port = _free_port()
    ports = {s: getattr(stack, f"{s}_port") for s in SERVICES}
    settings = [f"{s}.port={p}" for s, p in ports.items()]
    settings += [f"edge.containerPort={port}", "edge.portalRoot=/tmp/portal"]
    rendered = subprocess.run(
        [
            str(HELM),
            "template",
            RELEASE,
            str(CHART),
            "--show-only",
            "templates/edge.yaml",
            *[a for s in settings for a in ("--set", s)],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    config = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "ConfigMap")["data"]["nginx.conf"]
    private = tmp_path_factory.mktemp("edge")
    (private / "tmp" / "portal" / "assets").mkdir(parents=True)
    (private / "tmp" / "portal" / "index.html").write_text("<!doctype html><title>Daiko portal</title>")
    (private / "tmp" / "portal" / "assets" / "app-3f2a.js").write_text("console.log('portal')")
    (private / "tmp" / "nginx.conf").write_text(config)  # /tmp/nginx.conf inside the namespace
    hosts = "127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {name(s)}\n" for s in SERVICES)
    (private / "hosts").write_text(hosts)
    script = (
        f"mount --bind {private / 'hosts'} /etc/hosts && mount --bind {private / 'tmp'} /tmp && "
        f"exec {NGINX} -c /tmp/nginx.conf -g 'daemon off;'"
    )
    checked = subprocess.run(
        [UNSHARE or "unshare", "--mount", "sh", "-c", script.replace("exec " + NGINX, NGINX + " -t")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr  # nginx -t: the rendered config is valid nginx
    process = subprocess.Popen(
        [UNSHARE or "unshare", "--mount", "sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(
                    f"the edge did not start: {process.stderr.read().decode() if process.stderr else ''}"
                ) from None
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("service", SERVICES)
def test_each_api_prefix_reaches_its_service_with_the_prefix_stripped(edge: str, service: str) -> None:
    answer = httpx.get(f"{edge}/api/{service}/openapi.json", timeout=30)
    assert answer.status_code == 200
    # Each service's document names its own operations "<service>.<name>" (daiko/openapi.py).
    operations = {
        op["operationId"] for path in answer.json()["paths"].values() for op in path.values() if "operationId" in op
    }
    assert operations and all(op.startswith(f"{service}.") for op in operations if not op.startswith("operations."))
    assert httpx.get(f"{edge}/api/{service}/healthz", timeout=30).status_code == 200


def test_a_problem_from_a_service_passes_through_the_edge_as_it_is(edge: str) -> None:
    answer = httpx.get(f"{edge}/api/orders/v1/orders", timeout=30)  # no token
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_every_other_path_is_the_portal_with_its_security_headers(edge: str) -> None:
    for path in ("/", "/orders/P261126-7KQ2M9XA", "/deposit"):
        answer = httpx.get(f"{edge}{path}", timeout=30)
        assert answer.status_code == 200 and "Daiko portal" in answer.text, path
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
        assert answer.headers["cache-control"] == "no-cache"
    asset = httpx.get(f"{edge}/assets/app-3f2a.js", timeout=30)
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert httpx.get(f"{edge}/assets/missing.js", timeout=30).status_code == 404  # no index.html for a lost asset


def test_the_edge_answers_its_own_probes(edge: str) -> None:
    assert httpx.get(f"{edge}/healthz", timeout=30).text == "ok\n"
    assert httpx.get(f"{edge}/readyz", timeout=30).status_code == 200
