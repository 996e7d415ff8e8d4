"""The OpenTelemetry SDK in the test process, its finished spans kept in memory for the tests to read.

Real spans from the real SDK (the tracer provider a service app may already
have installed in this process, or a fresh one): the tests read what the
plumbing recorded, nothing is stubbed.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_EXPORTER: InMemorySpanExporter | None = None


def collected_spans() -> InMemorySpanExporter:
    """The process's in-memory span exporter, installed on first use (a provider can be set once per process)."""
    global _EXPORTER
    if _EXPORTER is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER
