"""RFC 9457 problem details: every error any Daiko API returns has this shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from daiko.db import database_unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://daiko.dev/problems/"


class Problem(Exception):
    """Raise anywhere in a request to answer with problem JSON."""

    def __init__(self, status: int, title: str, detail: str | None = None, *, code: str | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code or title.lower().replace(" ", "-")
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": PROBLEM_BASE + self.code, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        out.update(self.extra)
        return out


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} does not exist", code="not-found")


def conflict(detail: str, *, code: str = "conflict", **extra: Any) -> Problem:
    return Problem(409, "Operation refused", detail, code=code, **extra)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
    )


PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "Problem details (RFC 9457)",
    "content": {
        PROBLEM_JSON: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            }
        }
    },
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors if e["field"])
        problem = Problem(
            422,
            "Invalid request",
            f"invalid fields: {fields}" if fields else "invalid request",
            code="validation-error",
            errors=errors,
        )
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
        problem = Problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        response = problem_response(problem, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        """PostgreSQL (or another part) down or unreachable is an outage (503), not a bug (500)."""
        log.warning("dependency unavailable", extra={"path": request.url.path, "error": repr(exc)})
        problem = Problem(
            503,
            "Service unavailable",
            "a part this service needs cannot be reached; retry shortly",
            code="database-unavailable",
        )
        response = problem_response(problem, request)
        response.headers["Retry-After"] = "5"
        return response

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            return await _unavailable(request, exc)
        if isinstance(exc, DataError):  # a value no column can hold (e.g. beyond bigint): the input's fault
            log.warning("value refused by the database", extra={"path": request.url.path, "error": repr(exc)})
            problem = Problem(422, "Invalid request", "a value in the request is out of range", code="validation-error")
            return problem_response(problem, request)
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(Problem(500, "Internal error", "an unexpected error occurred"), request)

    # DBAPIError covers OperationalError and InterfaceError; OSError a refused connection.
    for kind in (DBAPIError, PoolTimeoutError, OSError, Exception):
        app.add_exception_handler(kind, _unexpected)
