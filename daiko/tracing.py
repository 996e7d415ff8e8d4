"""OpenTelemetry for every Daiko process: one customer payment is one trace, across HTTP, Temporal and Kafka.

Each process calls :func:`configure_tracing` once with its service name; from
then on its spans go by OTLP (HTTP/protobuf) to ``DAIKO_OTLP_ENDPOINT``
(Jaeger in the local stack), or nowhere when tracing is off (see
:attr:`daiko.settings.DaikoSettings.otlp_traces_endpoint`). What is traced:

- HTTP served (FastAPI, :func:`instrument_app`) and sent (httpx, every client);
- SQL (SQLAlchemy, :func:`instrument_engine`) — only inside a trace: the relay's
  and the consumers' idle polls would otherwise make a new trace per second;
- Temporal calls, workflow and activity tasks (Temporal's ``TracingInterceptor``,
  :func:`temporal_interceptors`, on the client that the worker shares);
- the outbox and Kafka: :func:`current_carrier` is stored with each outbox row,
  the relay sends it as W3C ``traceparent`` headers inside a producer span
  (:func:`relayed`), and every consumer continues it in a consumer span
  (:func:`consumed`).

Temporal's interceptor makes a signal or update handler's span a *link* of the
caller, in the trace of the workflow's start; the order workflow therefore
carries its caller's context into each transition it records, and the
recording activity continues that context (:func:`continued`). That is what keeps
a payment, answered by the ledger through the bridge's signal, in one trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from daiko.settings import DaikoSettings

log = logging.getLogger(__name__)

TRACER_NAME = "daiko"
Carrier = dict[str, str]
"""A W3C trace context as text fields (``traceparent``, and ``tracestate`` when there is one)."""

_configured_service: str | None = None


class _InTraceOnly(trace.Tracer):
    """A tracer that records a span only inside a trace: a root span it is asked for is a non-recording one.

    For SQL: a query inside a request, an activity or a consumed event is traced; the relay's and the
    consumers' idle polls and the housekeeping purges are not, or each would be a trace of its own.
    """

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    @staticmethod
    def _in_trace(context: otel_context.Context | None) -> bool:
        return trace.get_current_span(context).get_span_context().is_valid

    def start_span(  # type: ignore[override]
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        if not self._in_trace(context):
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if not self._in_trace(context):
            return trace.use_span(trace.INVALID_SPAN)
        return self._tracer.start_as_current_span(name, context, *args, **kwargs)


def configure_tracing(settings: DaikoSettings, service: str) -> bool:
    """Install this process's tracer provider and the httpx instrumentation; False when tracing is off.

    Idempotent: a process that builds several apps (tests) configures once, under the first name.
    """
    global _configured_service
    endpoint = settings.otlp_traces_endpoint
    if endpoint is None:
        return False
    if _configured_service is not None:
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    resource = Resource.create({SERVICE_NAME: service, "deployment.environment.name": settings.environment})
    provider = TracerProvider(resource=resource)
    # Batched and bounded: an unreachable collector costs dropped spans and a warning, never a slower request.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _configured_service = service
    log.info("tracing on", extra={"otlp_endpoint": endpoint, "service": service})
    return True


def enabled() -> bool:
    """Whether :func:`configure_tracing` turned tracing on in this process."""
    return _configured_service is not None


def instrument_app(app: Any, *, probes: Sequence[str] = ("/healthz", "/readyz", "/metrics")) -> None:
    """Server spans for every route of a FastAPI app, but not for its probes and scrapes (a trace each, else).

    One span per request: without ``exclude_spans`` the instrumentation adds an ``http send`` span for
    the response's start and another for its body, which tripled the spans to build and export on the
    hottest read (the order-details GET) and told nothing the server span's duration does not.
    """
    if not enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=",".join(probes), exclude_spans=["receive", "send"])


def instrument_engine(engine: Any) -> None:
    """Client spans for every statement of one SQLAlchemy engine (sync or async)."""
    if not enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    sync_engine = getattr(engine, "sync_engine", engine)
    if getattr(sync_engine, "_daiko_traced", False):
        return
    connections = get_meter(TRACER_NAME).create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="Connections in use, by state"
    )
    # The instrumentor's own per-engine tracer: its instrument() can be called once per process only.
    in_trace_only = _InTraceOnly(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"))
    EngineTracer(in_trace_only, sync_engine, connections)  # type: ignore[no-untyped-call]
    sync_engine._daiko_traced = True


def temporal_interceptors() -> list[Any]:
    """Temporal's tracing interceptor for a client (a worker built on the client uses it too)."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> Carrier:
    """The current trace context as W3C text fields; empty outside any trace (or with tracing off)."""
    carrier: Carrier = {}
    propagate.inject(carrier)
    return carrier


def _context_of(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    return propagate.extract(dict(carrier)) if carrier else None


@contextmanager
def continued(
    carrier: Mapping[str, str] | None, name: str, *, attributes: Attributes = None, link_current: bool = True
) -> Iterator[trace.Span]:
    """A span that continues a stored context (the caller of a workflow handler), linked to the current one.

    Without a stored context it is a child of the current span, as any span would be.
    """
    parent = _context_of(carrier)
    links = []
    if parent is not None and link_current:
        current = trace.get_current_span().get_span_context()
        if current.is_valid:
            links.append(Link(current))
    with tracer().start_as_current_span(name, context=parent, links=links, attributes=attributes) as span:
        yield span


KafkaHeaders = Sequence[tuple[str, bytes]]


def headers_carrier(headers: KafkaHeaders | None) -> Carrier:
    """The W3C fields among a Kafka message's headers (what :func:`relayed` wrote)."""
    fields = propagate.get_global_textmap().fields
    return {key: value.decode(errors="replace") for key, value in headers or () if key in fields}


@contextmanager
def relayed(topic: str, key: str, stored: Mapping[str, str] | None) -> Iterator[list[tuple[str, bytes]]]:
    """A producer span for one outbox row, child of the context stored with it; yields its Kafka headers.

    A row written outside any trace leaves without trace headers (its consumer starts a trace of its own).
    """
    if not stored:
        yield []
        return
    attributes = {"messaging.system": "kafka", "messaging.destination.name": topic, "messaging.kafka.message.key": key}
    with tracer().start_as_current_span(
        f"send {topic}", context=_context_of(stored), kind=SpanKind.PRODUCER, attributes=attributes
    ):
        yield [(field, value.encode()) for field, value in current_carrier().items()]


@contextmanager
def consumed(
    consumer: str, topic: str, partition: int, offset: int, headers: KafkaHeaders | None
) -> Iterator[trace.Span]:
    """A consumer span for one Kafka record, child of the producer span its headers name."""
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.consumer.group.name": consumer,
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
    }
    with tracer().start_as_current_span(
        f"{consumer} process {topic}",
        context=_context_of(headers_carrier(headers)),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span


def current_ids() -> tuple[str, str] | None:
    """The current trace id and span id in hex (as Jaeger shows them), or None outside a recorded span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def annotate(ids: Mapping[str, str]) -> None:
    """Put business ids (``order_id``, ``customer_id``) on the current span, as ``daiko.<name>`` attributes."""
    span = trace.get_current_span()
    if ids and span.is_recording():
        span.set_attributes({f"daiko.{key}": value for key, value in ids.items()})
