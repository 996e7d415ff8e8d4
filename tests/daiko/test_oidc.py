"""Sign-in through the local OpenID Connect provider: a real authorization code + PKCE flow, then the API.

The provider is the stack's own (``devstack/oidc.py``: panva's node-oidc-provider),
reached through the edge as the portal reaches it; the flow is driven with
httpx through the provider's development login and consent pages, as a browser
would submit them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from daiko.auth import decode_token, trusted_issuers
from daiko.problems import Problem
from daiko.settings import DaikoSettings
from tests.conftest import StackSettings, bearer

FORM = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"[^>]*method="post"[^>]*>(?P<body>.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"')


@pytest.fixture
async def edge(stack: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.edge_port}", timeout=60) as client:
        yield client


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def sign_in(edge: httpx.AsyncClient, stack: StackSettings, login: str) -> dict[str, Any]:
    """Authorization code + PKCE as the portal runs it: authorize, log in, consent, exchange the code."""
    config = (await edge.get("/config.json")).json()["oidc"]
    discovery = (await edge.get(f"{urlsplit(config['issuer']).path}/.well-known/openid-configuration")).json()
    redirect_uri = f"http://127.0.0.1:{stack.edge_port}/auth/callback"
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    answer = await edge.get(
        discovery["authorization_endpoint"],
        params={
            "client_id": config["client_id"],
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": config["scope"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        },
    )
    for _ in range(10):  # the provider's pages: login, then consent; each answer redirects or shows a form
        location = answer.headers.get("location")
        if location and location.startswith(redirect_uri):
            query = parse_qs(urlsplit(location).query)
            assert query["state"] == [state]
            assert "code" in query, f"no code: {query}"
            code = query["code"][0]
            break
        if location:
            answer = await edge.get(location)
            continue
        assert answer.status_code == 200, answer.text
        form = FORM.search(answer.text)
        assert form, f"neither a redirect nor a form: {answer.text[:500]}"
        fields = {m["name"]: unescape(m["value"]) for m in HIDDEN.finditer(form["body"])}
        if 'name="login"' in form["body"]:
            fields.update(login=login, password="any password")
        answer = await edge.post(unescape(form["action"]), data=fields)
    else:
        pytest.fail("the flow never came back to the redirect URI")
    tokens = await edge.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": config["client_id"],
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    return body


async def test_a_customer_signed_in_through_the_provider_uses_the_orders_api(
    stack: StackSettings, edge: httpx.AsyncClient
) -> None:
    tokens = await sign_in(edge, stack, "cust-1")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "RS256"
    assert (claims["sub"], claims["role"], claims["aud"]) == ("cust-1", "customer", stack.jwt_audience)
    assert claims["iss"] == stack.oidc_issuer
    headers = bearer(tokens["access_token"])
    mine = await edge.get("/api/orders/v1/orders", headers=headers)
    assert mine.status_code == 200, mine.text
    assert (await edge.get("/api/orders/v1/staff/halted-orders", headers=headers)).status_code == 403


async def test_staff_signed_in_through_the_provider_have_the_staff_role(
    stack: StackSettings, edge: httpx.AsyncClient
) -> None:
    tokens = await sign_in(edge, stack, "staff-1")
    staff_only = await edge.get("/api/orders/v1/staff/halted-orders", headers=bearer(tokens["access_token"]))
    assert staff_only.status_code == 200, staff_only.text


async def test_a_token_from_another_key_under_the_providers_name_is_refused(
    stack: StackSettings, edge: httpx.AsyncClient
) -> None:
    """Naming the provider as issuer is not enough: the signature must verify against its JWKS."""
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header((await sign_in(edge, stack, "cust-1"))["access_token"])["kid"]
    now = datetime.now(UTC)
    forged = jwt.encode(
        {
            "sub": "staff-1",
            "role": "staff",
            "iss": stack.oidc_issuer,
            "aud": stack.jwt_audience,
            "exp": now + timedelta(hours=1),
        },
        impostor,
        algorithm="RS256",
        headers={"kid": kid},
    )
    answer = await edge.get("/api/orders/v1/staff/halted-orders", headers=bearer(forged))
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_token_cannot_pick_hs256_for_the_providers_issuer() -> None:
    """Each issuer has one algorithm: an HS256 token naming the provider is refused, whatever its secret."""
    settings = DaikoSettings()
    assert settings.oidc_issuer
    token = jwt.encode(
        {"sub": "x", "role": "staff", "iss": settings.oidc_issuer, "aud": settings.jwt_audience, "exp": 9999999999},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    with pytest.raises(Problem) as refused:
        decode_token(settings, token)
    assert refused.value.status == 401


def test_production_trusts_only_the_configured_issuer() -> None:
    production = DaikoSettings.model_construct(
        **{
            **DaikoSettings().model_dump(),
            "environment": "production",
            "jwt_algorithm": "RS256",
            "jwt_issuer": "https://id.agency.example",
            "jwt_jwks_url": "https://id.agency.example/jwks",
        }
    )
    trusted = trusted_issuers(production)
    assert list(trusted) == ["https://id.agency.example"]
    assert trusted["https://id.agency.example"].algorithm == "RS256"


def test_production_refuses_an_oidc_issuer_the_services_do_not_trust() -> None:
    with pytest.raises(ValueError, match="DAIKO_OIDC_ISSUER must be DAIKO_JWT_ISSUER"):
        DaikoSettings(
            environment="production",
            jwt_algorithm="RS256",
            jwt_issuer="https://id.agency.example",
            oidc_issuer="https://elsewhere.example",
            postgres_password="p",
            jwt_secret="s" * 40,
        )


def test_outside_production_the_local_provider_is_the_default_issuer() -> None:
    settings = DaikoSettings(edge_port=8700, oidc_port=8705)
    assert settings.oidc_issuer == "http://127.0.0.1:8700/oidc"
    assert settings.oidc_jwks_url == "http://127.0.0.1:8705/oidc/jwks"
