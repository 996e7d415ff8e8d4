"""The FastAPI skeleton all three services share: problems, health, metrics, background tasks.

A service hands over its routers, a readiness check and the long-running tasks
it needs (outbox relay, consumers); this module owns their lifecycle so the
three services start, stop and report health the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from daiko.housekeeping import housekeeping_task
from daiko.logs import configure_logging
from daiko.problems import install_problem_handlers
from daiko.settings import DaikoSettings

log = logging.getLogger(__name__)

BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]


async def database_ready(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def kafka_ready(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
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
    settings: DaikoSettings,
    engine: AsyncEngine,
    routers: Sequence[APIRouter],
    background: dict[str, BackgroundTask] | None = None,
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    description: str = "",
) -> FastAPI:
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        if on_startup:
            await on_startup(app)
        retention = timedelta(days=settings.processed_events_retention_days)
        every_task = {**(background or {}), "housekeeping": housekeeping_task(engine, retention)}
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

    app = FastAPI(title=f"Daiko {name}", description=description, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings  # the one settings object of this process; auth reads it too
    install_problem_handlers(app)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=["ops"], summary="Readiness: its database and Kafka are reachable")
    async def readyz() -> JSONResponse:
        db_ok, kafka_ok = await asyncio.gather(database_ready(engine), kafka_ready(settings.kafka_bootstrap))
        body = {"status": "ready" if db_ok and kafka_ok else "not ready", "database": db_ok, "kafka": kafka_ok}
        return JSONResponse(body, status_code=200 if db_ok and kafka_ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
