"""Each service's OpenAPI document is one a client generator can use (the portal's TypeScript client).

Built in-process from each app, no stack needed: stable ``<service>.<name>``
operation ids, one tag scheme, every error response an RFC 9457 Problem,
an example on every request body, and nothing of FastAPI's own error shapes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

SERVICES = ("orders", "deposits", "messaging")
# The plumbing's own routes have the plumbing's tags: operations (health, metrics), live (each service's
# event stream), development (the development sign-in, mounted by orders outside production only).
PLUMBING_TAGS = {"operations", "live"}
TAGS = {*PLUMBING_TAGS, "development", *SERVICES, *(f"{name}-staff" for name in SERVICES)}
PROBLEM_REF = "#/components/schemas/Problem"


def document(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"services.{service}.app").app
    doc: dict[str, Any] = app.openapi()
    return doc


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_and_named_after_the_service(service: str) -> None:
    ids = [operation["operationId"] for _, operation in operations(document(service))]
    assert len(ids) == len(set(ids)), sorted(ids)
    pattern = re.compile(rf"^{service}\.[a-z][a-z0-9_]*$")
    assert [i for i in ids if not pattern.match(i)] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_one_tag_of_the_shared_scheme(service: str) -> None:
    tags = {where: operation.get("tags", []) for where, operation in operations(document(service))}
    assert {where: t for where, t in tags.items() if len(t) != 1 or t[0] not in TAGS} == {}
    development = {"development"} if service == "orders" else set()
    assert {t[0] for t in tags.values()} == {*PLUMBING_TAGS, *development, service, f"{service}-staff"}


@pytest.mark.parametrize("service", SERVICES)
def test_no_fastapi_validation_error_schema_is_left(service: str) -> None:
    doc = document(service)
    assert "HTTPValidationError" not in str(doc) and "#/components/schemas/ValidationError" not in str(doc)
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert set(problem["required"]) == {"type", "title", "status"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_response_is_a_problem(service: str) -> None:
    wrong = {}
    for where, operation in operations(document(service)):
        for status, response in operation["responses"].items():
            if status[0] in "45" and response.get("content") != {
                "application/problem+json": {"schema": {"$ref": PROBLEM_REF}}
            }:
                wrong[f"{where} {status}"] = response.get("content")
    assert wrong == {}


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_an_example(service: str) -> None:
    missing = [
        f"{where} {media_type}"
        for where, operation in operations(document(service))
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if not (media.get("example") or media.get("examples"))
    ]
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_that_takes_input_documents_its_422(service: str) -> None:
    missing = [
        where
        for where, operation in operations(document(service))
        if (operation.get("parameters") or operation.get("requestBody")) and "422" not in operation["responses"]
    ]
    assert missing == []
