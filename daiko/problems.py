"""RFC 9457 problem details: every error any Daiko API returns has this shape, built here only.

Three kinds of failure reach a client, each turned into a problem in one place:

* a domain exception (:class:`daiko.errors.DomainError`) raised by a use case,
  mapped through the service's table of exception class to status and title;
* input the schema refuses (FastAPI's validation, or a body a route parses
  itself): :func:`invalid_request`, with the field errors flattened by
  :func:`field_errors`;
* an outage or a bug: 503 when a part cannot be reached, 500 otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from daiko.db import database_unavailable
from daiko.errors import DomainError, InvalidInput, NotFound, Unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://daiko.dev/problems/"
RETRY_AFTER_SECONDS = 5


class Problem(Exception):
    """An HTTP answer in problem JSON, for the HTTP layer itself (auth, request parsing, the handlers here)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code or title.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": PROBLEM_BASE + self.code, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        out.update(self.extra)
        return out


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers or None,
    )


# --------------------------------------------------------------------------- invalid input


def field_errors(errors: Iterable[Mapping[str, Any]], *, located: bool = False) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field": "items.0.quantity", "message": ...}``: the one flattening of them.

    ``located``: the errors come from FastAPI, whose first segment says where
    (``body``, ``query``, ``header``...). ``body`` is dropped (a client names
    the fields of its body, not the body); the others stay, they say where.
    """
    flat = []
    for error in errors:
        loc = list(error.get("loc", ()))
        if located and loc[:1] == ["body"]:
            loc = loc[1:]
        flat.append({"field": ".".join(str(part) for part in loc), "message": str(error.get("msg", ""))})
    return flat


def invalid_request(
    detail: str | None = None, *, errors: list[dict[str, str]] | None = None, code: str = "validation-error"
) -> Problem:
    """The 422 of every API: ``detail`` defaults to the fields named in ``errors``."""
    if detail is None:
        fields = ", ".join(e["field"] for e in errors or () if e["field"])
        detail = f"invalid fields: {fields}" if fields else "invalid request"
    extra: dict[str, Any] = {"errors": errors} if errors is not None else {}
    return Problem(422, "Invalid request", detail, code=code, **extra)


# --------------------------------------------------------------------------- domain exceptions


@dataclass(frozen=True)
class ProblemType:
    """How one exception class reads over HTTP.

    ``code`` and ``detail`` are for exceptions that are not domain exceptions
    (e.g. a database race): their own message is not for clients.
    """

    status: int
    title: str
    headers: Mapping[str, str] = field(default_factory=dict)
    code: str | None = None
    detail: str | None = None


ProblemTable = Mapping[type[Exception], ProblemType]

_RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}

BASE_PROBLEMS: dict[type[Exception], ProblemType] = {
    DomainError: ProblemType(409, "Operation refused"),
    NotFound: ProblemType(404, "Not found"),
    InvalidInput: ProblemType(422, "Invalid request"),
    Unavailable: ProblemType(503, "Service unavailable", _RETRY),
}


def problem_for(exc: Exception, table: ProblemTable) -> Problem:
    """The problem of a raised exception: the table's entry for its nearest class (the plumbing's as fallback)."""
    merged = {**BASE_PROBLEMS, **table}
    kind = next(merged[k] for k in type(exc).__mro__ if k in merged)  # DomainError or the exception's own entry
    if not isinstance(exc, DomainError):
        return Problem(kind.status, kind.title, kind.detail, code=kind.code, headers=kind.headers)
    return Problem(kind.status, exc.title or kind.title, exc.detail, code=exc.code, headers=kind.headers, **exc.facts)


# --------------------------------------------------------------------------- handlers


def install_problem_handlers(app: FastAPI, table: ProblemTable | None = None) -> None:
    """Every error of ``app`` as problem JSON; ``table`` maps the service's domain exceptions (and any other)."""
    table = dict(table or {})

    async def _mapped(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(problem_for(exc, table), request)

    mapped: set[type[Exception]] = {DomainError, *table}
    for kind in mapped:
        app.add_exception_handler(kind, _mapped)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(invalid_request(errors=field_errors(exc.errors(), located=True)), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
        problem = Problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=exc.headers)
        return problem_response(problem, request)

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        """PostgreSQL (or another part) down or unreachable is an outage (503), not a bug (500)."""
        log.warning("dependency unavailable", extra={"path": request.url.path, "error": repr(exc)})
        problem = Problem(
            503,
            "Service unavailable",
            "a part this service needs cannot be reached; retry shortly",
            code="database-unavailable",
            headers=_RETRY,
        )
        return problem_response(problem, request)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            return await _unavailable(request, exc)
        if isinstance(exc, DataError):  # a value no column can hold (e.g. beyond bigint): the input's fault
            log.warning("value refused by the database", extra={"path": request.url.path, "error": repr(exc)})
            return problem_response(invalid_request("a value in the request is out of range"), request)
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(Problem(500, "Internal error", "an unexpected error occurred"), request)

    # DBAPIError covers OperationalError and InterfaceError; OSError a refused connection.
    for kind in (DBAPIError, PoolTimeoutError, OSError, Exception):
        if kind not in table:
            app.add_exception_handler(kind, _unexpected)
