"""Canonical input at the HTTP boundary: no NUL or other control character gets past the door.

PostgreSQL's text and JSONB cannot hold a NUL, and a control character in an
id, a note or a header is never what a person meant: before this, such input
answered 500 (a path ``/v1/orders/%00``) or, worse, was accepted and then
wedged the order's projection for good. One ASGI middleware in the service
skeleton refuses it for every route of every service, wherever it is, with the
422 problem every bad input gets:

* the path (after percent-decoding) and the query string (each decoded name
  and value);
* the header values (a horizontal tab is allowed there, as HTTP allows it);
* every string, and every object key, of a JSON body; free text may hold line
  breaks and tabs, nothing else below U+0020.

Token claims are checked where the token is decoded (:mod:`daiko.auth`), and
multipart bodies by the service that parses them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daiko.problems import PROBLEM_JSON, invalid_request

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""Any control character: refused in paths, queries and ids."""

TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters but tab, line feed and carriage return: refused in free text."""

HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters but the horizontal tab, which a header value may contain."""

MAX_JSON_BODY = 2 * 1024 * 1024
"""Bytes of a JSON body read for the check; larger bodies are not JSON any route takes (413)."""


NESTED_TOO_DEEPLY = {"field": "body", "message": "nested too deeply"}


def control_fields(value: Any, where: str) -> Iterator[str]:
    """The dotted names of every string (or key) in a parsed JSON value that holds a control character."""
    if isinstance(value, str):
        if TEXT_CONTROL.search(value):
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if TEXT_CONTROL.search(str(key)):
                yield name
            else:
                yield from control_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from control_fields(item, f"{where}.{index}" if where else str(index))


def _refusals(scope: Scope) -> list[dict[str, str]]:
    """Errors for the path, query and headers of a request (empty when they are clean)."""
    errors = []
    if CONTROL.search(scope.get("path", "")):
        errors.append({"field": "path", "message": "control characters (such as NUL) are not allowed"})
    query = scope.get("query_string", b"").decode("latin-1")
    if CONTROL.search(unquote(query)):
        names = [name for name, value in parse_qsl(query, keep_blank_values=True) if CONTROL.search(name + value)]
        for name in names or ["?"]:
            errors.append({"field": f"query.{name}", "message": "control characters are not allowed"})
    for raw_name, raw_value in scope.get("headers", ()):
        if HEADER_CONTROL.search(raw_value.decode("latin-1")):
            errors.append(
                {"field": f"header.{raw_name.decode('latin-1')}", "message": "control characters are not allowed"}
            )
    return errors


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media == "application/json" or media.endswith("+json")
    return False


class CanonicalInputMiddleware:
    """Answers 422 (problem JSON) to any HTTP request carrying a control character where none belongs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = _refusals(scope)
        if errors:
            await _refuse(scope, send, errors)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if not more:
            errors = _body_refusals(body)
            if errors:
                await _refuse(scope, send, errors)
                return
        await self.app(scope, _replay(body, more, receive), send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, up to :data:`MAX_JSON_BODY`; ``more`` when it is longer (left to the route to refuse)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > MAX_JSON_BODY:
            return b"".join(chunks), True


def _body_refusals(body: bytes) -> list[dict[str, str]]:
    try:
        parsed = json.loads(body) if body else None
        names = list(control_fields(parsed, ""))
    except (ValueError, UnicodeDecodeError):
        return []  # not JSON: the route's own validation says so, naming the position
    except RecursionError:  # thousands of nested arrays: no body of ours is like that, and parsing it again would fail
        return [NESTED_TOO_DEEPLY]
    return [{"field": name or "body", "message": "control characters (such as NUL) are not allowed"} for name in names]


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A ``receive`` that hands the route the body already read, then the rest of the stream."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, errors: list[dict[str, str]]) -> None:
    if errors == [NESTED_TOO_DEEPLY]:
        problem = invalid_request("the JSON body is nested too deeply", errors=errors, code="too-deeply-nested")
    else:
        fields = ", ".join(e["field"] for e in errors)
        problem = invalid_request(
            f"control characters are not allowed: {fields}", errors=errors, code="control-characters"
        )
    content = json.dumps(problem.body(_printable(scope.get("path", "")))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(content)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": content})


def _printable(path: str) -> str:
    """The path for the problem's ``instance``, its control characters escaped (``\\x00``)."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", path)
