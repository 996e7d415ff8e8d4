"""HTTP path and query parameters of ids: the one id type and limit of :mod:`contracts.ids`, everywhere.

Every service names its ids in paths and filters with these aliases, so an id
a service accepts over HTTP is exactly one that every other service's columns
and every event can hold (at most ``ID_MAX_LENGTH`` characters, no control
character), and the OpenAPI documents say so (``maxLength``, ``pattern``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from contracts.ids import CustomerId, Id, OrderId, PayInReportId, WithdrawalId
from daiko.problems import Problem

OrderIdPath = Annotated[OrderId, Path(description="The order's id", examples=["P261126-7KQ2M9XA"])]
CustomerIdPath = Annotated[CustomerId, Path(description="The customer's id (their token's subject)")]
WithdrawalIdPath = Annotated[WithdrawalId, Path(description="The withdrawal request's id")]
PayInReportIdPath = Annotated[PayInReportId, Path(description="The pay-in report's id")]
IdPath = Annotated[Id, Path(description="An id in this service")]
CustomerFilter = Annotated[CustomerId | None, Query(description="Only this customer's")]


def _query_names(route: APIRoute) -> tuple[str, ...]:
    """The query parameters a route declares, its dependencies' included, as clients spell them."""
    names = _QUERY_NAMES.get(route.unique_id)
    if names is None:
        names = _QUERY_NAMES[route.unique_id] = tuple(sorted(set(_query_aliases(route.dependant))))
    return names


def _query_aliases(dependant: Dependant) -> list[str]:
    return [param.alias for param in dependant.query_params] + [
        alias for sub in dependant.dependencies for alias in _query_aliases(sub)
    ]


_QUERY_NAMES: dict[str, tuple[str, ...]] = {}


async def known_query_only(request: Request) -> None:
    """A route dependency: a query parameter the route does not take is a 422 naming it and the valid ones.

    Ignoring it would answer as if no filter had been asked for (``?q=Gundam`` listing every order),
    which reads to the client as "these are the matches".
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    valid = _query_names(route)
    unknown = sorted(set(request.query_params) - set(valid))
    if unknown:
        raise Problem(
            422,
            "Invalid request",
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; "
            f"this route takes: {', '.join(valid)}",
            code="unknown-query-parameter",
            errors=[{"field": f"query.{name}", "message": "unknown parameter"} for name in unknown],
            unknown=unknown,
            valid=list(valid),
        )
