"""Canonical input and the auth limits on the running stack, over HTTP, for the three services at once.

A NUL or another control character anywhere in a request (path, query,
header, JSON body, the token's subject) is a 422 problem naming where, never a
500 and never stored. Failed authentications from one address are limited:
past ``DAIKO_RATE_LIMIT_AUTH_FAILURES`` they answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from limits import parse

from daiko.auth import Role, mint_token
from daiko.settings import DaikoSettings
from tests.conftest import StackSettings, bearer, customer_token, staff_token

pytestmark = pytest.mark.stack

PORTS = {"orders": "orders_port", "deposits": "deposits_port", "messaging": "messaging_port"}

CONTROL_PATHS = [
    ("orders", "/v1/orders/%00", "customer"),
    ("orders", "/v1/staff/orders/a%01b", "staff"),
    ("deposits", "/v1/deposit/withdrawals/wd%00", "customer"),
    ("deposits", "/v1/staff/customers/a%00/deposit", "staff"),
    ("messaging", "/v1/orders/a%00b/messages", "customer"),
    ("messaging", "/v1/staff/orders/a%1fb/messages", "staff"),
]
CONTROL_QUERIES = [
    ("orders", "/v1/staff/orders?customer_id=a%00b"),
    ("deposits", "/v1/staff/pay-in-reports?customer_id=a%00"),
    ("deposits", "/v1/staff/ledger/audit?customer_id=%00"),
]


def url(settings: DaikoSettings, service: str, path: str) -> str:
    return f"http://127.0.0.1:{getattr(settings, PORTS[service])}{path}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def from_fresh_address() -> httpx.AsyncClient:
    """A client whose requests come from an address of its own in 127/8, so its rate-limit windows start empty."""
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30)


def assert_control_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/control-characters")
    assert field in [error["field"] for error in problem["errors"]], problem


@pytest.mark.parametrize(("service", "path", "role"), CONTROL_PATHS)
async def test_a_control_character_in_a_path_is_a_422_not_a_500(
    stack: StackSettings, http: httpx.AsyncClient, service: str, path: str, role: str
) -> None:
    token = staff_token(stack) if role == "staff" else customer_token(stack, "cust-nul")
    response = await http.get(url(stack, service, path), headers=bearer(token))
    assert_control_refused(response, "path")
    assert "\\x0" in response.json()["instance"] or "\\x1" in response.json()["instance"]  # escaped, printable


@pytest.mark.parametrize(("service", "path"), CONTROL_QUERIES)
async def test_a_control_character_in_a_staff_filter_is_a_422(
    stack: StackSettings, http: httpx.AsyncClient, service: str, path: str
) -> None:
    response = await http.get(url(stack, service, path), headers=bearer(staff_token(stack)))
    assert_control_refused(response, "query.customer_id")


@pytest.mark.parametrize("service", list(PORTS))
async def test_a_control_character_in_a_header_is_a_422(stack: StackSettings, service: str) -> None:
    """httpx will not send such a header, so the request is written by hand."""
    token = customer_token(stack, "cust-nul")
    request = (
        f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "X-Note: a\x01b\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", getattr(stack, PORTS[service]))
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422"), answer[:300]
    assert "header.x-note" in [error["field"] for error in json.loads(body)["errors"]]


async def test_a_nul_in_a_json_body_is_a_422_naming_the_field(stack: StackSettings, http: httpx.AsyncClient) -> None:
    """The pay-in ``note`` (500 before) and a message body: refused before any route or database sees them."""
    customer = bearer(customer_token(stack, "cust-nul-body"))
    report = {"amount": 1000, "transfer_date": "2026-11-30", "sender_name": "ヤマダ", "note": "a\u0000b"}
    response = await http.post(url(stack, "deposits", "/v1/deposit/pay-in-reports"), json=report, headers=customer)
    assert_control_refused(response, "note")
    listed = await http.get(url(stack, "deposits", "/v1/deposit/pay-in-reports"), headers=customer)
    assert listed.status_code == 200 and listed.json() == []

    message = {"body": "hello\u0007"}
    response = await http.post(url(stack, "messaging", "/v1/orders/P1/messages"), json=message, headers=customer)
    assert_control_refused(response, "body")


async def test_line_breaks_and_tabs_in_free_text_are_kept(stack: StackSettings, http: httpx.AsyncClient) -> None:
    customer = bearer(customer_token(stack, f"cust-lines-{random.randint(0, 10**9)}"))
    report = {"amount": 1000, "transfer_date": "2026-11-30", "sender_name": "ヤマダ", "note": "line 1\nline 2\tend"}
    response = await http.post(url(stack, "deposits", "/v1/deposit/pay-in-reports"), json=report, headers=customer)
    assert response.status_code == 201, response.text
    assert response.json()["note"] == "line 1\nline 2\tend"


@pytest.mark.parametrize("subject", ["cust\x00evil", "x" * 101, "tab\there"])
@pytest.mark.parametrize("service", list(PORTS))
async def test_a_token_whose_subject_is_not_an_id_is_refused(
    stack: StackSettings, http: httpx.AsyncClient, service: str, subject: str
) -> None:
    """Validly signed, but its ``sub`` is no id any service can store: a 422 at the door (a 500 before)."""
    token = mint_token(stack, subject=subject, role=Role.CUSTOMER)
    path = {"orders": "/v1/orders", "deposits": "/v1/deposit", "messaging": "/v1/orders/P1/messages"}[service]
    response = await http.get(url(stack, service, path), headers=bearer(token))
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/invalid-token-subject")


async def test_repeated_bad_tokens_from_one_address_get_429_with_retry_after(stack: StackSettings) -> None:
    """2,000 bad tokens never got a 429; now the address is refused past its limit, on every service."""
    allowed = parse(stack.rate_limit_auth_failures).amount
    async with from_fresh_address() as client:
        target = url(stack, "orders", "/v1/orders")
        answers = [(await client.get(target, headers=bearer(f"not-a-token-{n}"))).status_code for n in range(allowed)]
        assert answers == [401] * allowed
        refused = await client.get(target, headers=bearer("not-a-token-again"))
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["type"].endswith("/rate-limited")
        good = await client.get(target, headers=bearer(customer_token(stack, "cust-good")))
        assert good.status_code == 200  # a valid token from the same address still works


@pytest.mark.parametrize("service", list(PORTS))
async def test_a_json_body_nested_too_deeply_is_a_422(
    stack: StackSettings, http: httpx.AsyncClient, service: str
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    path = {"orders": "/v1/orders", "deposits": "/v1/deposit/pay-in-reports", "messaging": "/v1/orders/P1/messages"}
    response = await http.post(
        url(stack, service, path[service]),
        content=body,
        headers={**bearer(customer_token(stack, "cust-deep")), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/too-deeply-nested")
