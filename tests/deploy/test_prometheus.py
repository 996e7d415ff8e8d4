"""The alert rules and the stack's Prometheus configuration, checked by Prometheus' own promtool.

``promtool test rules`` runs ``deploy/prometheus/alerts_test.yml``: series in,
alerts out, for every rule of ``deploy/prometheus/alerts.yml``. promtool comes with
Debian's ``prometheus`` package (``deploy/bootstrap.d/50-prometheus.sh``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from daiko.registry import service
from daiko.settings import PROJECT_ROOT, DaikoSettings
from devstack.prometheus import RULES, binary, config

RULE_TESTS = PROJECT_ROOT / "deploy" / "prometheus" / "alerts_test.yml"


def promtool(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def alert_names() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())
    return {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_fire_on_their_conditions_and_only_then() -> None:
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case.get("exp_alerts")}
    assert alert_names() == tested


def test_the_operator_sees_each_alert_the_issue_asks_for() -> None:
    assert {
        "DaikoTargetDown",
        "DaikoHttp5xxRatioHigh",
        "DaikoHttpLatencyP99High",
        "DaikoConsumerLagHigh",
        "DaikoConsumerLagGrowing",
        "DaikoOutboxOldestEventOld",
        "DaikoDeadLetters",
        "DaikoDeadlinesOverdue",
        "DaikoReconciliationDifference",
        "DaikoTemporalWorkflowScheduleToStartHigh",
    } <= alert_names()


def test_the_generated_stack_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config(DaikoSettings())))
    result = promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_the_stack_scrapes_every_service_and_both_worker_endpoints() -> None:
    settings = DaikoSettings()
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config(settings)["scrape_configs"]}
    for name in ("orders", "deposits", "messaging"):
        assert jobs[name] == [f"127.0.0.1:{service(name).settings().port}"]
    assert jobs["worker"] == [f"127.0.0.1:{settings.worker_metrics_port}"]
    assert jobs["worker-temporal-sdk"] == [f"127.0.0.1:{settings.temporal_sdk_metrics_port}"]
    assert jobs["prometheus"] == [f"127.0.0.1:{settings.prometheus_port}"]


def test_compose_scrapes_the_same_jobs_by_container_name() -> None:
    """docker-compose.yml's Prometheus reads deploy/prometheus/compose.yml: the stack's jobs, at each container."""
    compose_config = PROJECT_ROOT / "deploy" / "prometheus" / "compose.yml"
    result = promtool("check", "config", str(compose_config))
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {
        job["job_name"]: job["static_configs"][0]["targets"]
        for job in yaml.safe_load(compose_config.read_text())["scrape_configs"]
    }
    defaults = DaikoSettings.model_construct()
    stack_jobs = {job["job_name"] for job in config(defaults)["scrape_configs"]}
    assert set(jobs) == stack_jobs
    for name in ("orders", "deposits", "messaging"):
        shipped = type(service(name).settings()).model_construct()  # the defaults, whatever this shell sets
        assert jobs[name] == [f"{name}:{shipped.port}"]
    assert jobs["worker"] == [f"worker:{defaults.worker_metrics_port}"]
    assert jobs["worker-temporal-sdk"] == [f"worker:{defaults.temporal_sdk_metrics_port}"]
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["worker"]["environment"]["DAIKO_METRICS_HOST"] == "0.0.0.0"
    assert "./deploy/prometheus:/etc/daiko-prometheus:ro" in compose["services"]["prometheus"]["volumes"]
