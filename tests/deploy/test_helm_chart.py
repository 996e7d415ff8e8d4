"""The Helm chart (``deploy/helm/daiko``) read as a specification.

It lints with its defaults and with every example values file, renders, and what it renders validates
against the Kubernetes JSON schemas in strict mode (kubeconform: unknown fields are errors) for the
oldest and newest Kubernetes it supports. The rest reads the rendered manifests for the promises of
``docs/production.md``: probes and resources everywhere, secrets only by reference, each pod holding
only its own credentials, the migration and setup hooks, production mode, N workers, the edge's routes.

Helm and kubeconform are built from the Go module proxy and the schemas unpacked from PyPI's
``kubernetes-validate`` by ``deploy/bootstrap.d/60-helm.sh``; the module is skipped, with the reason,
only if those are missing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from contracts.topics import TOPICS
from daiko.acls import Grant, Operation, Pattern, ResourceType, service_grants
from daiko.registry import registered_services
from daiko.settings import PROJECT_ROOT, KafkaAdminSettings
from devstack.tools import tool, tools_bin
from tests.conftest import StackSettings

CHART = PROJECT_ROOT / "deploy" / "helm" / "daiko"
EXAMPLES = PROJECT_ROOT / "deploy" / "helm" / "examples"
HELM = tool("helm")
KUBECONFORM = tool("kubeconform")
SCHEMAS = tools_bin() / "kubernetes-json-schema"
# The oldest and newest Kubernetes the chart supports (deploy/helm/daiko/README.md; 60-helm.sh unpacks both).
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
SCHEMA_LOCATION = (
    str(SCHEMAS)
    + "/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
# Kinds whose schema is a CRD's (Prometheus Operator), not Kubernetes': checked by the tests below instead.
CRD_KINDS = ("ServiceMonitor", "PodMonitor")
RELEASE = "daiko"
SERVICES = ("orders", "deposits", "messaging")

# Each way the chart is meant to be installed: the defaults and the example values files (the Temporal
# Cloud file is an overlay on the production one).
VALUE_SETS: dict[str, tuple[Path, ...]] = {
    "defaults": (),
    "production": (EXAMPLES / "values-production.yaml",),
    "temporal-cloud": (EXAMPLES / "values-production.yaml", EXAMPLES / "values-temporal-cloud.yaml"),
    "staging": (EXAMPLES / "values-staging.yaml",),
}


def _missing_tools() -> str | None:
    missing = [str(path) for path in (HELM, KUBECONFORM) if not path.is_file()]
    missing += [
        str(SCHEMAS / f"v{v}-local-strict")
        for v in KUBERNETES_VERSIONS
        if not (SCHEMAS / f"v{v}-local-strict").is_dir()
    ]
    if missing:
        return f"not built: {', '.join(missing)}; run `bash deploy/bootstrap.sh` (deploy/bootstrap.d/60-helm.sh)"
    return None


MISSING = _missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120, check=False)


def _values_args(files: Sequence[Path], settings: Sequence[str] = ()) -> list[str]:
    return [arg for f in files for arg in ("-f", str(f))] + [arg for s in settings for arg in ("--set", s)]


def template(
    files: Sequence[Path] = (), settings: Sequence[str] = (), kube_version: str = KUBERNETES_VERSIONS[-1]
) -> str:
    """``helm template`` of the chart (hooks included) as YAML text; a failure fails the test with helm's words."""
    done = _helm("template", RELEASE, str(CHART), "--kube-version", kube_version, *_values_args(files, settings))
    assert done.returncode == 0, done.stderr
    return done.stdout


def manifests(files: Sequence[Path] = (), settings: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(template(files, settings)) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def name(part: str) -> str:
    return f"{RELEASE}-{part}"


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']} {doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def is_daiko(container: dict[str, Any]) -> bool:
    return str(container["image"]).startswith("daiko:")


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, manifests(VALUE_SETS[request.param])


@pytest.fixture(scope="module")
def defaults() -> list[dict[str, Any]]:
    return manifests()


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_chart_lints_with_its_defaults_and_every_example_values_file(values: str) -> None:
    done = _helm("lint", "--strict", str(CHART), *_values_args(VALUE_SETS[values]))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_daiko_values_file_in_examples_is_linted() -> None:
    linted = {f for files in VALUE_SETS.values() for f in files}
    assert set(EXAMPLES.glob("values-*.yaml")) == linted


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_rendered_manifests_are_valid_kubernetes_objects_in_strict_mode(
    values: str, kube_version: str, tmp_path: Path
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(template(VALUE_SETS[values], kube_version=kube_version))
    done = subprocess.run(
        [
            str(KUBECONFORM),
            "-strict",
            "-summary",
            "-output",
            "text",
            "-kubernetes-version",
            kube_version,
            "-schema-location",
            SCHEMA_LOCATION,
            "-skip",
            ",".join(CRD_KINDS),
            str(rendered),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = re.search(r"Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)", done.stdout)
    assert summary, done.stdout
    valid, invalid, errors, skipped = map(int, summary.groups())
    documents = [doc for doc in yaml.safe_load_all(rendered.read_text()) if doc]
    assert (invalid, errors) == (0, 0)
    assert valid == len([d for d in documents if d["kind"] not in CRD_KINDS])  # nothing went unchecked
    assert skipped == len([d for d in documents if d["kind"] in CRD_KINDS])


def test_the_chart_deploys_the_three_services_the_edge_and_the_workers(defaults: list[dict[str, Any]]) -> None:
    assert set(of_kind(defaults, "Deployment")) == {name(p) for p in (*SERVICES, "edge", "worker")}
    assert {n: s["spec"]["ports"][0]["port"] for n, s in of_kind(defaults, "Service").items()} == {
        name("orders"): 8101,
        name("deposits"): 8102,
        name("messaging"): 8103,
        name("edge"): 80,
    }


def test_every_deployment_has_readiness_and_liveness_probes_and_resource_requests(
    value_set: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = value_set
    for deployment in of_kind(docs, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert container.get("readinessProbe"), where
            assert container.get("livenessProbe"), where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where


def test_the_services_are_ready_on_readyz_and_alive_on_healthz(defaults: list[dict[str, Any]]) -> None:
    for service in SERVICES:
        (container,) = of_kind(defaults, "Deployment")[name(service)]["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_every_container_runs_as_non_root_on_a_read_only_root_filesystem(
    value_set: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = value_set
    for where, spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["automountServiceAccountToken"] is False, where
        for container in containers(spec):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, (where, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (where, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (where, container["name"])


def _secret_settings() -> set[str]:
    """Every setting that is a secret (a ``SecretStr`` field of any process's settings), as its env name."""
    fields = {**StackSettings.model_fields, **KafkaAdminSettings.model_fields}
    return {f"DAIKO_{field.upper()}" for field, info in fields.items() if info.annotation is SecretStr}


def test_no_secret_value_is_ever_rendered(value_set: tuple[str, list[dict[str, Any]]]) -> None:
    values, docs = value_set
    assert not of_kind(docs, "Secret"), f"{values}: the chart renders a Secret"
    secrets = _secret_settings()
    assert {"DAIKO_POSTGRES_PASSWORD", "DAIKO_LEDGER_SIGNING_KEY", "DAIKO_KAFKA_ADMIN_PASSWORD"} <= secrets
    for where, spec in pod_specs(docs):
        for container in containers(spec):
            for setting, entry in env_of(container).items():
                if setting in secrets:
                    assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], (values, where, setting)


def test_every_setting_the_chart_passes_is_one_the_processes_read(value_set: tuple[str, list[dict[str, Any]]]) -> None:
    """A misspelt DAIKO_ name would be ignored silently (extra="ignore"): every name must be a settings field."""
    _, docs = value_set
    known = {f"DAIKO_{field.upper()}" for field in {**StackSettings.model_fields, **KafkaAdminSettings.model_fields}}
    for where, spec in pod_specs(docs):
        for container in filter(is_daiko, containers(spec)):
            passed = {n for n in env_of(container) if n.startswith("DAIKO_")}
            assert passed <= known, (where, sorted(passed - known))


def test_each_pod_holds_only_its_own_credentials(defaults: list[dict[str, Any]]) -> None:
    deployments = of_kind(defaults, "Deployment")
    passwords = {f"DAIKO_{s.upper()}_KAFKA_PASSWORD" for s in SERVICES} | {"DAIKO_KAFKA_ADMIN_PASSWORD"}
    own = {"orders": "orders", "deposits": "deposits", "messaging": "messaging", "worker": "orders"}
    for part, service in own.items():
        (container,) = deployments[name(part)]["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        assert passwords & set(env) == {f"DAIKO_{service.upper()}_KAFKA_PASSWORD"}, part
        database = defaults_values()["postgres"][service]
        assert env["DAIKO_POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == database["existingSecret"], part
    for deployment in deployments.values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "DAIKO_LEDGER_SIGNING_KEY" not in env_of(container) or deployment["metadata"]["name"] == name(
                "deposits"
            )
    setup = of_kind(defaults, "Job")[name("setup")]
    holders = {
        c["name"] for c in containers(setup["spec"]["template"]["spec"]) if "DAIKO_KAFKA_ADMIN_PASSWORD" in env_of(c)
    }
    assert holders == {"topics", "kafka-acls"}


def defaults_values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def test_every_daiko_process_runs_in_production_mode_by_default(defaults: list[dict[str, Any]]) -> None:
    """DAIKO_ENVIRONMENT=production: each process refuses to start on any development default (daiko/settings.py)."""
    checked = 0
    for where, spec in pod_specs(defaults):
        for container in filter(is_daiko, containers(spec)):
            assert env_of(container)["DAIKO_ENVIRONMENT"]["value"] == "production", (where, container["name"])
            checked += 1
    assert checked >= len(SERVICES) + 1 + len(SERVICES)  # services, worker, one migration per database


def test_worker_replicas_follow_the_values() -> None:
    assert (
        of_kind(manifests(), "Deployment")[name("worker")]["spec"]["replicas"]
        == defaults_values()["worker"]["replicas"]
    )
    assert of_kind(manifests(settings=["worker.replicas=7"]), "Deployment")[name("worker")]["spec"]["replicas"] == 7
    autoscaled = manifests(settings=["worker.autoscaling.enabled=true", "worker.autoscaling.maxReplicas=12"])
    assert "replicas" not in of_kind(autoscaled, "Deployment")[name("worker")]["spec"]  # the autoscaler owns the count
    assert of_kind(autoscaled, "HorizontalPodAutoscaler")[name("worker")]["spec"]["maxReplicas"] == 12


def test_workers_poll_the_configured_task_queue_with_the_orders_database(defaults: list[dict[str, Any]]) -> None:
    (worker,) = of_kind(defaults, "Deployment")[name("worker")]["spec"]["template"]["spec"]["containers"]
    env = env_of(worker)
    assert worker["command"] == ["python", "-m", "services.orders.worker"]
    assert env["DAIKO_TEMPORAL_TASK_QUEUE"]["value"] == defaults_values()["temporal"]["taskQueue"]
    assert env["DAIKO_ORDERS_DATABASE"]["value"] == "daiko_orders"
    assert worker["readinessProbe"]["exec"]["command"] == ["daiko-healthcheck", "worker"]


def test_workers_expose_their_own_and_the_temporal_sdk_metrics_to_a_pod_monitor() -> None:
    docs = manifests(settings=["metrics.serviceMonitor.enabled=true"])
    (worker,) = of_kind(docs, "Deployment")[name("worker")]["spec"]["template"]["spec"]["containers"]
    env = env_of(worker)
    assert env["DAIKO_METRICS_HOST"]["value"] == "0.0.0.0"  # reachable from outside the pod
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert ports == {
        "metrics": int(env["DAIKO_WORKER_METRICS_PORT"]["value"]),
        "sdk-metrics": int(env["DAIKO_TEMPORAL_SDK_METRICS_PORT"]["value"]),
    }
    (monitor,) = of_kind(docs, "PodMonitor").values()
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} == set(ports)


def test_the_services_and_the_edge_scale_horizontally_and_keep_a_disruption_budget(
    defaults: list[dict[str, Any]],
) -> None:
    autoscaled = of_kind(defaults, "HorizontalPodAutoscaler")
    assert set(autoscaled) == {name("orders"), name("deposits"), name("edge")}  # messaging: one photo volume
    for hpa in autoscaled.values():
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": hpa["metadata"]["name"],
        }
    production = of_kind(manifests(VALUE_SETS["production"]), "HorizontalPodAutoscaler")
    assert set(production) == {name("orders"), name("deposits"), name("messaging"), name("edge")}  # photos in S3
    budgets = of_kind(defaults, "PodDisruptionBudget")
    assert set(budgets) == {name(p) for p in (*SERVICES, "edge", "worker")}
    for budget in budgets.values():
        assert budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] in (*SERVICES, "edge", "worker")


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook_before_the_setup(defaults: list[dict[str, Any]]) -> None:
    jobs = of_kind(defaults, "Job")
    migrate, setup = jobs[name("migrate")], jobs[name("setup")]
    for job in (migrate, setup):
        assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    weight = int(migrate["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(setup["metadata"]["annotations"]["helm.sh/hook-weight"])
    # One step per database, one after another (init containers, then the Job's container).
    steps = [c["command"] for c in containers(migrate["spec"]["template"]["spec"])]
    assert sorted(steps) == [["daiko", "migrate", s] for s in sorted(r.name for r in registered_services())]
    setup_spec = setup["spec"]["template"]["spec"]
    assert [c["command"] for c in containers(setup_spec)] == [
        ["daiko", "topics"],
        ["daiko", "kafka-acls"],
        ["daiko", "search-attributes"],
    ]


def test_each_migration_step_has_only_its_own_database(defaults: list[dict[str, Any]]) -> None:
    migrate = of_kind(defaults, "Job")[name("migrate")]
    for container in containers(migrate["spec"]["template"]["spec"]):
        service = container["command"][-1]
        env = env_of(container)
        assert env["DAIKO_POSTGRES_HOST"]["value"] == defaults_values()["postgres"][service]["host"]
        assert f"DAIKO_{service.upper()}_DATABASE" in env


def test_the_setup_creates_replicated_topics_and_steps_can_be_left_to_an_operator() -> None:
    topics = next(
        c
        for c in containers(of_kind(manifests(), "Job")[name("setup")]["spec"]["template"]["spec"])
        if c["name"] == "topics"
    )
    assert env_of(topics)["DAIKO_KAFKA_TOPIC_REPLICATION_FACTOR"]["value"] == "3"
    assert env_of(topics)["DAIKO_KAFKA_TOPIC_MIN_INSYNC_REPLICAS"]["value"] == "2"
    cloud = of_kind(manifests(VALUE_SETS["temporal-cloud"]), "Job")[name("setup")]
    assert [c["command"] for c in containers(cloud["spec"]["template"]["spec"])] == [["daiko", "topics"]]


def _edge_config(docs: list[dict[str, Any]]) -> str:
    config: str = of_kind(docs, "ConfigMap")[name("edge")]["data"]["nginx.conf"]
    return config


def test_the_edge_routes_each_api_prefix_to_its_service_with_the_prefix_stripped(
    defaults: list[dict[str, Any]],
) -> None:
    config = _edge_config(defaults)
    services = of_kind(defaults, "Service")
    for service in SERVICES:
        upstream = re.search(rf"upstream {service} \{{\s*server ([\w.-]+):(\d+);", config)
        assert upstream, service
        host, port = upstream.groups()
        assert host in services and int(port) == services[host]["spec"]["ports"][0]["port"]
        # proxy_pass to "<upstream>/": nginx replaces the matched /api/<service>/ by "/".
        assert re.search(rf"location /api/{service}/ \{{\s*proxy_pass http://{service}/;", config), service


def test_the_edge_serves_the_portal_as_a_single_page_app_with_security_headers(defaults: list[dict[str, Any]]) -> None:
    config = _edge_config(defaults)
    assert f"root {defaults_values()['edge']['portalRoot']};" in config
    assert "try_files $uri $uri/ /index.html;" in config
    for header in defaults_values()["edge"]["securityHeaders"]:
        assert f"add_header {header} " in config
    assert f"client_max_body_size {defaults_values()['edge']['clientMaxBodySize']};" in config
    edge = of_kind(defaults, "Deployment")[name("edge")]
    assert edge["spec"]["template"]["metadata"]["annotations"]["checksum/config"]  # a new config rolls the pods


def test_the_paypal_sandbox_is_off_by_default_and_refused_in_production(defaults: list[dict[str, Any]]) -> None:
    assert name("paypal-sandbox") not in of_kind(defaults, "Deployment")
    staging = manifests(VALUE_SETS["staging"])
    assert name("paypal-sandbox") in of_kind(staging, "Deployment")
    (deposits,) = of_kind(staging, "Deployment")[name("deposits")]["spec"]["template"]["spec"]["containers"]
    assert env_of(deposits)["DAIKO_PAYPAL_BASE_URL"]["value"] == f"http://{name('paypal-sandbox')}:8104"
    refused = _helm("template", RELEASE, str(CHART), "--set", "paypalSandbox.enabled=true")
    assert refused.returncode != 0 and "development tool" in refused.stderr


def test_photos_go_to_a_volume_by_default_and_to_s3_in_production(defaults: list[dict[str, Any]]) -> None:
    (claim,) = of_kind(defaults, "PersistentVolumeClaim").values()
    messaging = of_kind(defaults, "Deployment")[name("messaging")]["spec"]["template"]["spec"]
    assert {v["name"]: v for v in messaging["volumes"]}["attachments"]["persistentVolumeClaim"]["claimName"] == claim[
        "metadata"
    ]["name"]
    assert env_of(messaging["containers"][0])["DAIKO_ATTACHMENT_DIR"]["value"] == "/var/lib/daiko/attachments"
    production = manifests(VALUE_SETS["production"])
    assert not of_kind(production, "PersistentVolumeClaim")
    (container,) = of_kind(production, "Deployment")[name("messaging")]["spec"]["template"]["spec"]["containers"]
    assert env_of(container)["DAIKO_ATTACHMENT_STORAGE"]["value"] == "s3"
    # One ReadWriteOnce volume cannot serve several replicas on several nodes: refused at render time.
    refused = _helm("template", RELEASE, str(CHART), "--set", "messaging.replicas=3")
    assert refused.returncode != 0 and "one replica only" in refused.stderr


def test_temporal_mutual_tls_reaches_the_sdk_and_the_temporal_cli() -> None:
    docs = manifests(VALUE_SETS["temporal-cloud"])
    spec = of_kind(docs, "Deployment")[name("worker")]["spec"]["template"]["spec"]
    env = env_of(spec["containers"][0])
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["temporal-tls"]["secret"]["secretName"] == "daiko-temporal-cloud"
    for sdk, cli in (
        ("DAIKO_TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_PATH"),
        ("DAIKO_TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_PATH"),
    ):
        assert env[sdk]["value"] == env[cli]["value"]
        assert Path(env[sdk]["value"]).parent == Path(mounts["temporal-tls"])
    assert env["DAIKO_TEMPORAL_ADDRESS"]["value"].endswith(".tmprl.cloud:7233")


def test_kafka_uses_sasl_ssl_with_the_brokers_ca_mounted(defaults: list[dict[str, Any]]) -> None:
    spec = of_kind(defaults, "Deployment")[name("deposits")]["spec"]["template"]["spec"]
    env = env_of(spec["containers"][0])
    assert env["DAIKO_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert Path(env["DAIKO_KAFKA_SSL_CAFILE"]["value"]).parent == Path(mounts["kafka-ca"])


def test_the_service_monitor_scrapes_the_three_services_when_enabled() -> None:
    assert not of_kind(manifests(), "ServiceMonitor")
    (monitor,) = of_kind(manifests(VALUE_SETS["production"]), "ServiceMonitor").values()
    (components,) = [
        e for e in monitor["spec"]["selector"]["matchExpressions"] if e["key"] == "app.kubernetes.io/component"
    ]
    assert sorted(components["values"]) == sorted(SERVICES)
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


def _strimzi_grants() -> set[Grant]:
    operations = {"Read": Operation.READ, "Write": Operation.WRITE}
    kinds = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    patterns = {"literal": Pattern.LITERAL, "prefix": Pattern.PREFIXED}
    grants: set[Grant] = set()
    for doc in yaml.safe_load_all((EXAMPLES / "strimzi-kafka.yaml").read_text()):
        if doc["kind"] != "KafkaUser" or "authorization" not in doc["spec"]:
            continue
        for acl in doc["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            for operation in acl["operations"]:
                grants.add(
                    Grant(
                        f"User:{doc['metadata']['name']}",
                        operations[operation],
                        kinds[resource["type"]],
                        resource["name"],
                        patterns[resource["patternType"]],
                    )
                )
    return grants


def test_the_strimzi_example_grants_exactly_what_daiko_kafka_acls_derives_from_the_contracts() -> None:
    """Strimzi's User Operator owns its users' ACLs, so the example carries them; they must not drift."""
    principals = {r.name: f"User:{r.name}" for r in registered_services()}
    assert _strimzi_grants() == set(service_grants(principals, TOPICS))
