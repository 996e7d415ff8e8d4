"""The OpenAPI documents of the three services, shaped for a client generator (the portal's TypeScript client).

What a generator needs and FastAPI does not give by default, done once here:

* stable ``operationId``s ``<service>.<route name>`` (``orders.pay_billing``),
  not FastAPI's path-derived ones that change when a path does;
* one ``Problem`` schema (RFC 9457, its real fields) as a component, served as
  ``application/problem+json`` by every 4xx/5xx response, instead of FastAPI's
  ``HTTPValidationError`` (a shape no Daiko API ever answers with);
* an example on every request body: a route's own examples, or else those of
  the body's model;
* the 409 of :mod:`daiko.idempotency` (a key still in flight) on every
  operation that takes an ``Idempotency-Key``, and the 429 of
  :mod:`daiko.ratelimit` on every operation that authenticates.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from daiko.problems import PROBLEM_BASE, PROBLEM_JSON

SCHEMAS = "#/components/schemas/"
OPERATIONS_TAG = "operations"  # health and readiness, in every service


class ProblemFieldError(BaseModel):
    """One invalid field of a 422: where, and what is wrong with it."""

    field: str = Field(description="dotted path, e.g. `items.0.quantity` or `query.limit`")
    message: str


class Problem(BaseModel):
    """Problem details (RFC 9457). Extension members (e.g. `shortfall`, `order_id`) depend on `type`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_BASE + "validation-error",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "invalid fields: items.0.quantity",
                    "instance": "/v1/orders",
                    "errors": [{"field": "items.0.quantity", "message": "Input should be greater than or equal to 1"}],
                }
            ]
        },
    )

    type: str = Field(description=f"URI naming the kind of problem, under {PROBLEM_BASE}")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str | SkipJsonSchema[None] = Field(default=None, description="what went wrong this time")
    instance: str | SkipJsonSchema[None] = Field(default=None, description="the request path")
    errors: list[ProblemFieldError] | SkipJsonSchema[None] = Field(
        default=None, description="422 from input validation: each invalid field"
    )


PROBLEM_REF = {"$ref": SCHEMAS + "Problem"}
RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}
}
IN_FLIGHT = "The first request with this Idempotency-Key is still running; retry after `Retry-After` seconds"

_DESCRIPTIONS = {
    400: "Bad request",
    401: "No valid bearer token",
    402: "Payment required",
    403: "The token's role may not do this",
    404: "Not found, or not yours",
    409: "Refused in the current state; `detail` says why",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Rate limited (too many operations, or failed authentications); retry after `Retry-After` seconds",
    502: "A payment provider refused or failed",
    503: "A part this service needs is down; retry after `Retry-After` seconds",
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` documenting each status as a Problem; ``s409="..."`` overrides a description."""
    return {
        status: {
            "description": descriptions.get(f"s{status}", _DESCRIPTIONS.get(status, "Problem")),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }


def operation_ids(service: str) -> Callable[[APIRoute], str]:
    """``generate_unique_id_function``: ``<service>.<route name>``; route names are unique within a service."""

    def operation_id(route: APIRoute) -> str:
        return f"{service}.{route.name}"

    return operation_id


def _component_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template=SCHEMAS + "{model}")
    # The optional members are absent when unset, never null: a `"default": null` on a string would make a
    # generator (openapi-typescript) type them as always present.
    for member in schema["properties"].values():
        if member.get("default", ...) is None:
            del member["default"]
    nested = schema.pop("$defs", {})
    return {"Problem": schema, **nested}


def _schema_examples(schema: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """The examples of a body's model (following a ``$ref``, or the first one of an optional body)."""
    if "$ref" in schema:
        return _schema_examples(components.get(schema["$ref"].removeprefix(SCHEMAS), {}), components)
    for option in schema.get("anyOf", []):
        if found := _schema_examples(option, components):
            return found
    return list(schema.get("examples", []))


def shape_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Problems on every error response, the Problem component, an example on every request body."""
    components: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.update(_component_schemas())
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            keyed = any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
            if keyed:
                operation["responses"].setdefault("409", {"description": IN_FLIGHT})
            if "401" in operation.get("responses", {}):  # failed authentications are rate limited (daiko.ratelimit)
                operation["responses"].setdefault("429", {"description": _DESCRIPTIONS[429]})
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                if status == "503" or (status == "409" and keyed):
                    response.setdefault("headers", {}).update(RETRY_AFTER_HEADER)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "example" in media or "examples" in media:
                    continue
                examples = _schema_examples(media.get("schema", {}), components)
                if examples:
                    media["examples"] = {f"example {n}": {"value": value} for n, value in enumerate(examples, 1)}
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the shaped document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = shape_document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def service_documents() -> dict[str, dict[str, Any]]:
    """Each installed service's shaped document, by service name, built from its app without starting it.

    The registry names each app by its import string, so the plumbing reaches
    the services without importing them (the layering of tests/test_layering.py).
    """
    import importlib

    from daiko.registry import registered_services

    documents: dict[str, dict[str, Any]] = {}
    for registration in registered_services():
        module, _, attribute = registration.app.partition(":")
        app: FastAPI = getattr(importlib.import_module(module), attribute)
        documents[registration.name] = app.openapi()
    return documents


def write_documents(folder: Path) -> list[Path]:
    """Write ``<service>.json`` per service into ``folder`` (stable key order: a diff is a real change)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in service_documents().items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """``python -m daiko.openapi --write portal/openapi``: the documents the portal's client is generated from."""
    parser = argparse.ArgumentParser(prog="python -m daiko.openapi", description=main.__doc__)
    parser.add_argument("--write", type=Path, required=True, metavar="FOLDER", help="where to write <service>.json")
    args = parser.parse_args(argv)
    for path in write_documents(args.write):
        print(path)


if __name__ == "__main__":
    main()
