"""The FastAPI skeleton all three services share: state, problems, OpenAPI, health, metrics, background tasks.

A service hands over its routers, its one typed state object (what its
``deps.py`` hands to routes), its table of domain exceptions and the
long-running tasks it needs (outbox relay, consumers); this module owns their
lifecycle so the three services start, stop, wire, fail and document the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import TypeVar

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from daiko import idempotency
from daiko.canonical import CanonicalInputMiddleware
from daiko.housekeeping import housekeeping_task
from daiko.kafka import KafkaConnection, admin_client, service_connection
from daiko.live import LiveFeed, LiveHub, live_router
from daiko.logs import configure_logging
from daiko.openapi import OPERATIONS_TAG, install_openapi, operation_ids
from daiko.problems import ProblemTable, install_problem_handlers
from daiko.ratelimit import RateLimits
from daiko.settings import ServiceSettings

log = logging.getLogger(__name__)

BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]
State = TypeVar("State")


def state_getter(kind: type[State]) -> Callable[[Request], Awaitable[State]]:
    """The dependency that hands a route its service's state, typed (``Annotated[S, Depends(state_getter(S))]``).

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread
    pool, a thread hop per request for a dictionary lookup.
    """

    async def service_state(request: Request) -> State:
        state = request.app.state.service
        if not isinstance(state, kind):
            raise TypeError(f"app.state.service is {type(state).__name__}, not {kind.__name__}")
        return state

    return service_state


async def database_ready(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def kafka_ready(kafka: KafkaConnection) -> bool:
    """The brokers answer and accept this principal's credentials (a wrong password is not ready)."""
    admin = admin_client(kafka, request_timeout_ms=2000)
    try:
        await asyncio.wait_for(admin.start(), timeout=3)
        await asyncio.wait_for(admin.list_topics(), timeout=3)
        return True
    except Exception:
        return False
    finally:
        with suppress(Exception):
            await admin.close()


async def run_forever(name: str, task: BackgroundTask, stop: asyncio.Event) -> None:
    """Restart a background task after a crash (e.g. Kafka briefly down) until shutdown."""
    while not stop.is_set():
        try:
            await task(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task crashed; restarting", extra={"task": name})
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)


def create_service_app(
    *,
    name: str,
    settings: ServiceSettings,
    engine: AsyncEngine,
    routers: Sequence[APIRouter],
    state: object,
    problems: ProblemTable | None = None,
    background: dict[str, BackgroundTask] | None = None,
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    description: str = "",
    live: LiveFeed | None = None,
) -> FastAPI:
    """``live``: the service's own topic as ``GET /v1/live`` (:mod:`daiko.live`), one consumer for the process."""
    configure_logging(settings.log_level)
    hub = (
        LiveHub(
            service_connection(settings),
            live,
            queue_size=settings.live_queue_size,
            heartbeat_seconds=settings.live_heartbeat_seconds,
        )
        if live
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        if on_startup:
            await on_startup(app)
        retention = timedelta(days=settings.processed_events_retention_days)
        every_task = {
            **(background or {}),
            "housekeeping": housekeeping_task(engine, retention),
            **({"live": hub.run} if hub else {}),
        }
        tasks = [
            asyncio.create_task(run_forever(task_name, task, stop), name=task_name)
            for task_name, task in every_task.items()
        ]
        app.state.stop = stop
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait(tasks, timeout=10) if tasks else None
            for t in tasks:
                t.cancel()
            if on_shutdown:
                await on_shutdown(app)
            await engine.dispose()

    app = FastAPI(
        title=f"Daiko {name}",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_ids(name),
    )
    app.state.settings = settings  # the one settings object of this process; auth reads it too
    app.state.service = state
    app.state.rate_limits = RateLimits(settings)
    install_problem_handlers(app, {**idempotency.PROBLEMS, **(problems or {})})
    install_openapi(app)
    app.add_middleware(CanonicalInputMiddleware)  # before any route: no control character reaches one

    @app.get("/healthz", tags=[OPERATIONS_TAG], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=[OPERATIONS_TAG], summary="Readiness: its database and Kafka are reachable")
    async def readyz() -> JSONResponse:
        db_ok, kafka_ok = await asyncio.gather(database_ready(engine), kafka_ready(service_connection(settings)))
        live_ok = hub.ready.is_set() if hub else True  # the live stream's consumer is in place
        ready = db_ok and kafka_ok and live_ok
        body = {"status": "ready" if ready else "not ready", "database": db_ok, "kafka": kafka_ok}
        if hub:
            body["live"] = live_ok
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=[OPERATIONS_TAG], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    if hub:
        app.state.live = hub
        app.include_router(live_router(hub))
    return app
