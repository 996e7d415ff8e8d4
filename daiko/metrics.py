"""Prometheus metrics of every Daiko process, in one place: what an operator alerts on.

- **HTTP** per route template: ``daiko_http_requests_total`` and the
  ``daiko_http_request_duration_seconds`` histogram, labelled ``service``,
  ``handler`` (the route's template, e.g. ``/v1/orders/{order_id}``, so the
  series do not grow with ids), ``method`` and ``status`` (``2xx`` … ``5xx``).
  A plain ASGI middleware (:class:`HttpMetricsMiddleware`) reads the template
  the router matched, so a request costs no second route lookup.
- **Gauges read from a database or Kafka** are computed when Prometheus scrapes
  ``/metrics`` (:class:`ScrapeTimeMetrics`), never on a request's path: the
  outbox backlog and the age of its oldest unsent event, unresolved dead letters,
  the consumer lag per partition (the group's committed offset against the
  partition's end offset, asked of the brokers, so a consumer that died still
  shows its lag growing) and whatever a service adds (the orders service's
  overdue deadlines). Each probe has a timeout; one that fails drops its series
  (rather than repeating a stale value) and sets ``daiko_metrics_probe_success`` to 0.
- **The Temporal SDK** exports its own metrics (task latencies, schedule-to-start,
  slots) from the worker's native runtime: :func:`temporal_runtime`.

``docs/operations.md`` ("Metrics and alerts") lists every name and the alert rules
of ``deploy/prometheus/alerts.yml``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from temporalio.runtime import Runtime

from daiko.kafka import KafkaConnection, admin_client, client_options

log = logging.getLogger(__name__)

HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; fine enough below 100 ms (where the APIs answer) for a p99 alert at 1 s to be read off exactly."""

UNINSTRUMENTED_PATHS = ["/metrics", "/healthz", "/readyz"]
"""Probes and scrapes: counting them would drown the customers' traffic in the rate."""

http_requests_total = Counter(
    "daiko_http_requests_total",
    "HTTP requests answered, by route template and status class",
    ["service", "handler", "method", "status"],
)
http_request_duration_seconds = Histogram(
    "daiko_http_request_duration_seconds",
    "Time from a request's arrival to its response, by route template",
    ["service", "handler", "method"],
    buckets=HTTP_LATENCY_BUCKETS,
)
probe_success = Gauge(
    "daiko_metrics_probe_success",
    "1 if the scrape-time probe answered at the last scrape, 0 if it failed or timed out",
    ["service", "probe"],
)


def instrument_http(app: FastAPI, service: str) -> None:
    """Count and time every request of ``app`` by route template (unknown paths as ``none``)."""
    app.add_middleware(HttpMetricsMiddleware, service=service)


class HttpMetricsMiddleware:
    """The two HTTP metrics, from a plain ASGI middleware: the route template is the one the router matched.

    prometheus-fastapi-instrumentator did this before, at a cost measured on the order-details GET
    (``bench/orders_read.py``) of a second route lookup, a Request, a Response and an Info object and an
    ``asyncio.gather`` per request. Here the router's own match (``scope["route"]``, set by Starlette on
    the request's scope) names the template once the request is answered, and nothing else is built.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._excluded = frozenset(UNINSTRUMENTED_PATHS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._excluded:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets when the app raises

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")
            handler = getattr(route, "path", None) or "none"  # no route matched: one series for every such path
            method = scope["method"]
            http_requests_total.labels(self.service, handler, method, f"{status // 100}xx").inc()
            http_request_duration_seconds.labels(self.service, handler, method).observe(time.perf_counter() - began)


@dataclass(frozen=True)
class Reading:
    """One sample a probe read: a gauge's name, help, labels and value."""

    name: str
    documentation: str
    labels: dict[str, str]
    value: float


Probe = Callable[[], Awaitable[list[Reading]]]
"""Reads a few gauges from a database or Kafka; called at scrape time, under a timeout."""


class _ReadingsCollector(Collector):
    """Serves the readings of the last scrape-time refresh of every :class:`ScrapeTimeMetrics` of the process.

    One collector for the process (several apps may live in one test process), so that
    one metric name is one family however many probes report it.
    """

    def __init__(self) -> None:
        self.readings: dict[tuple[str, str], list[Reading]] = {}

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # the names are only known once probes ran: no registry-time duplicate check

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for readings in list(self.readings.values()):
            for reading in readings:
                names = sorted(reading.labels)
                family = families.get(reading.name)
                if family is None:
                    family = families[reading.name] = GaugeMetricFamily(
                        reading.name, reading.documentation, labels=names
                    )
                family.add_metric([reading.labels[name] for name in names], reading.value)
        yield from families.values()


_readings = _ReadingsCollector()
REGISTRY.register(_readings)


@dataclass
class ScrapeTimeMetrics:
    """The probes of one service process, refreshed by its ``/metrics`` route before it answers."""

    service: str
    probes: dict[str, Probe] = field(default_factory=dict)
    timeout: float = 5.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        """Run every probe at once; a scrape that arrives while another refreshes uses that refresh."""
        if self._lock.locked():
            async with self._lock:
                return
        async with self._lock:
            names = list(self.probes)
            results = await asyncio.gather(
                *(asyncio.wait_for(self.probes[name](), self.timeout) for name in names), return_exceptions=True
            )
            for name, result in zip(names, results, strict=True):
                key = (self.service, name)
                if isinstance(result, BaseException):
                    _readings.readings.pop(key, None)
                    probe_success.labels(self.service, name).set(0)
                    log.warning("metrics probe failed", extra={"probe": name, "error": repr(result)})
                else:
                    _readings.readings[key] = result
                    probe_success.labels(self.service, name).set(1)

    async def close(self) -> None:
        """Let go of what the probes hold (the lag probe's Kafka clients)."""
        for probe in self.probes.values():
            close = getattr(probe, "close", None)
            if close is not None:
                await close()


def outbox_probe(service: str, engine: AsyncEngine) -> Probe:
    """The plumbing's ``outbox`` table of the service's database: rows not yet relayed, and the oldest one's age.

    The relay's partial index on unpublished rows keeps this cheap however long the history is.
    """

    async def read() -> list[Reading]:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS backlog,"
                        " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest"
                        " FROM outbox WHERE published_at IS NULL"
                    )
                )
            ).one()
        labels = {"service": service}
        return [
            Reading("daiko_outbox_backlog_events", "Outbox events not yet relayed to Kafka", labels, row.backlog),
            Reading(
                "daiko_outbox_oldest_unsent_age_seconds",
                "Age of the oldest outbox event not yet relayed (0 when none waits)",
                labels,
                float(row.oldest),
            ),
        ]

    return read


def dead_letters_probe(service: str, engine: AsyncEngine, consumers: Callable[[], Iterable[str]]) -> Probe:
    """Unresolved rows of the service's ``dead_letters`` table per consumer (0 for each known consumer without any)."""

    async def read() -> list[Reading]:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT consumer, count(*) AS n FROM dead_letters WHERE resolved_at IS NULL GROUP BY consumer")
                )
            ).all()
        counts = {name: 0 for name in consumers()} | {row.consumer: row.n for row in rows}
        return [
            Reading(
                "daiko_dead_letters_unresolved_messages",
                "Messages parked in dead_letters that no replay has applied yet (staff act on them)",
                {"service": service, "consumer": consumer},
                count,
            )
            for consumer, count in sorted(counts.items())
        ]

    return read


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group this process runs, whose lag its ``/metrics`` reports."""

    name: str
    topics: tuple[str, ...]
    connection: KafkaConnection


consumer_groups: dict[str, ConsumerGroup] = {}
"""The groups whose consumers this process built (:func:`daiko.consumer.consumer_task` adds each)."""


def watch_consumer_group(group: ConsumerGroup) -> None:
    consumer_groups[group.name] = group


class ConsumerLagProbe:
    """Per partition of each group's topics: end offset minus the group's committed offset, asked of the brokers.

    The committed offsets come from the group coordinator (an admin client's
    OffsetFetch), the end offsets from the partitions' leaders (a consumer
    without a group, which never joins or rebalances anyone); both need only the
    service principal's own rights (``READ`` on its groups and topics). A
    partition the group never committed counts from its first retained offset.
    The clients are made at the first scrape and kept.
    """

    def __init__(self, service: str, groups: Callable[[], Iterable[ConsumerGroup]]) -> None:
        self._service = service
        self._groups = groups
        self._clients: dict[KafkaConnection, tuple[AIOKafkaAdminClient, AIOKafkaConsumer]] = {}

    async def _clients_for(self, connection: KafkaConnection) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if connection not in self._clients:
            admin = admin_client(connection, request_timeout_ms=5000)
            offsets = AIOKafkaConsumer(**client_options(connection), group_id=None, request_timeout_ms=5000)
            try:
                await admin.start()
                await offsets.start()
            except BaseException:  # a timeout cancels us here too: never leave half-started clients behind
                with suppress(Exception):
                    await admin.close()
                with suppress(Exception):
                    await offsets.stop()
                raise
            self._clients[connection] = (admin, offsets)
        return self._clients[connection]

    async def __call__(self) -> list[Reading]:
        readings: list[Reading] = []
        for group in sorted(self._groups(), key=lambda g: g.name):
            try:
                readings += await self._read(group)
            except Exception:
                await self.close(group.connection)  # reconnect at the next scrape
                raise
        return readings

    async def _read(self, group: ConsumerGroup) -> list[Reading]:
        admin, offsets = await self._clients_for(group.connection)
        described = await admin.describe_topics(list(group.topics))  # asked each time: new partitions are seen
        partitions = sorted(
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic["error_code"] == 0
            for partition in topic["partitions"]
        )
        if not partitions:
            return []
        committed = await admin.list_consumer_group_offsets(group.name, partitions=partitions)
        ends = await offsets.end_offsets(partitions)
        never = [tp for tp in partitions if tp not in committed or committed[tp].offset < 0]
        firsts = await offsets.beginning_offsets(never) if never else {}
        readings = []
        for tp in partitions:
            position = firsts[tp] if tp in firsts else committed[tp].offset
            readings.append(
                Reading(
                    "daiko_consumer_lag_messages",
                    "Messages of the partition after the consumer group's committed offset",
                    {
                        "service": self._service,
                        "consumer": group.name,
                        "topic": tp.topic,
                        "partition": str(tp.partition),
                    },
                    max(ends[tp] - position, 0),
                )
            )
        return readings

    async def close(self, connection: KafkaConnection | None = None) -> None:
        for key in [connection] if connection is not None else list(self._clients):
            clients = self._clients.pop(key, None) if key is not None else None
            if clients is None:
                continue
            admin, offsets = clients
            with suppress(Exception):
                await admin.close()
            with suppress(Exception):
                await offsets.stop()


def service_metrics(
    service: str, engine: AsyncEngine, *, extra: dict[str, Probe] | None = None, timeout: float = 5.0
) -> ScrapeTimeMetrics:
    """The probes every service has (outbox, dead letters, consumer lag), plus the service's own."""
    lag = ConsumerLagProbe(service, lambda: consumer_groups.values())
    probes: dict[str, Probe] = {
        "outbox": outbox_probe(service, engine),
        "dead_letters": dead_letters_probe(service, engine, lambda: list(consumer_groups)),
        "consumer_lag": lag,
        **(extra or {}),
    }
    return ScrapeTimeMetrics(service, probes, timeout)


def serve_process_metrics(host: str, port: int) -> None:
    """Serve this process's registry on ``http://host:port/metrics`` from a thread (a process without a web app)."""
    start_http_server(port, addr=host)


def temporal_runtime(bind_address: str, service: str) -> Runtime:
    """A Temporal SDK runtime that serves the SDK's metrics for Prometheus on ``bind_address``.

    Durations in seconds and the ``_total``/unit suffixes, as Prometheus names them
    (``temporal_workflow_task_schedule_to_start_latency_seconds``); every series is
    tagged with the ``service``. Imported here lazily: only the worker loads the
    SDK's native runtime.
    """
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind_address, counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True
            ),
            global_tags={"service": service},
        )
    )
