"""Structured JSON logs on stderr: one object per line, through one structlog pipeline, ready for any log shipper.

Every line carries ``time``, ``level``, ``service``, ``logger`` and ``event``
(the message), the ``trace_id``/``span_id`` of the current OpenTelemetry span
(the ids Jaeger shows, so a line leads to its trace and back), and the ids
bound for the work in hand: ``order_id`` and ``customer_id`` while a request
(:func:`bind_request_ids`, the caller's token), a consumed event
(:func:`bind_event`) or an activity (:func:`bound`) concerns one. Lines from the
standard library's loggers (our own modules, uvicorn, aiokafka, Temporal) go
through the same pipeline, ``extra={...}`` fields included; uvicorn's access
log is one of them, with its request as fields (``method``, ``path``,
``status``, ``client``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from starlette.requests import Request
from structlog.types import EventDict, Processor, WrappedLogger

from daiko import tracing

ID_FIELDS = ("order_id", "customer_id")
"""The business ids a line carries whenever the work in hand has them."""

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_service = "daiko"


def _add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("service", _service)
    return event_dict


def _add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    ids = tracing.current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _access_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access line as fields: it logs ``(client, method, path, http version, status)`` as its args.

    The arguments of other foreign lines are already in their message; uvicorn's colored copy of it goes too.
    """
    args = event_dict.pop("positional_args", ())
    event_dict.pop("color_message", None)
    record = event_dict.get("_record")
    if record is not None and record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict.update(client=client, method=method, path=path, http_version=http_version, status=status)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        _add_service,
        _add_trace_ids,
    ]


def configure_logging(level: str = "INFO", service: str | None = None, stream: IO[str] | None = None) -> None:
    """Route every logger of the process, uvicorn's included, through the JSON pipeline at ``level``, to stderr.

    Idempotent: a second call only updates the level (and the service name, when given).
    ``stream`` replaces stderr (a test reads the lines it wrote).
    """
    global _service
    if service is not None:
        _service = service
    formatter = structlog.stdlib.ProcessorFormatter(
        pass_foreign_args=True,
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _access_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn configures its own handlers before it imports the app: hand its lines to ours instead.
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    for noisy in ("aiokafka", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel("WARNING")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger for code that logs key-value pairs (``log.info("paid", amount=...)``)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind(**ids: Any) -> None:
    """Bind ids for the rest of the current task's work (a request's handler, a consumer's record)."""
    structlog.contextvars.bind_contextvars(**{key: value for key, value in ids.items() if value is not None})


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Bind ids for the duration of a block (an activity, a consumed record); afterwards only what was bound before.

    Whatever the block binds itself (:func:`bind_event`) goes too, so the next record's lines never
    carry this one's ids.
    """
    before = structlog.contextvars.get_contextvars()
    bind(**ids)
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**before)


def bind_event(event_id: str, event_type: str, data: Mapping[str, Any]) -> None:
    """A consumed event's id and type, and the order and customer its data names."""
    bind(event_id=event_id, event_type=event_type, **business_ids(data))


def business_ids(data: Mapping[str, Any]) -> dict[str, str]:
    """The ``order_id``/``customer_id`` in a mapping, when they are strings."""
    return {key: value for key in ID_FIELDS if isinstance(value := data.get(key), str)}


async def bind_request_ids(request: Request) -> None:
    """A dependency of every route: the order and customer its path names, on its log lines and its span.

    ``async`` so that it runs in the request's own task, whose context the handler's lines read.
    """
    ids = business_ids(request.path_params)
    bind(**ids)
    tracing.annotate(ids)
