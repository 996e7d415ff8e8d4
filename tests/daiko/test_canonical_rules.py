"""What :mod:`daiko.canonical` counts as a control character where (no stack needed)."""

from __future__ import annotations

from typing import Any

import pytest

from daiko.canonical import _body_refusals, _refusals, control_fields


def scope(path: str = "/v1/orders", query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {"type": "http", "path": path, "query_string": query, "headers": headers or []}


@pytest.mark.parametrize("text", ["line 1\nline 2", "a\tb", "crlf\r\n", "日本語", ""])
def test_free_text_may_hold_line_breaks_and_tabs(text: str) -> None:
    assert list(control_fields({"note": text}, "")) == []


@pytest.mark.parametrize("text", ["\x00", "a\x07", "\x1b[31m", "del\x7f", "\x0b"])
def test_free_text_may_hold_no_other_control_character(text: str) -> None:
    assert list(control_fields({"items": [{"name": text}]}, "")) == ["items.0.name"]


def test_a_key_with_a_control_character_is_named() -> None:
    assert list(control_fields({"a\x00": 1}, "")) == ["a\x00"]


def test_a_path_or_query_may_hold_no_control_character_at_all() -> None:
    assert _refusals(scope(path="/v1/orders/a\tb"))[0]["field"] == "path"
    assert _refusals(scope(query=b"customer_id=a%0Ab"))[0]["field"] == "query.customer_id"
    assert _refusals(scope(query=b"customer_id=a%20b&limit=5")) == []


def test_a_header_may_hold_a_tab_but_no_other_control_character() -> None:
    assert _refusals(scope(headers=[(b"x-note", b"a\tb")])) == []
    assert _refusals(scope(headers=[(b"x-note", b"a\x00b")]))[0]["field"] == "header.x-note"


def test_a_body_that_is_not_json_is_left_to_the_route() -> None:
    assert _body_refusals(b"{not json") == []
    assert _body_refusals(b"") == []
