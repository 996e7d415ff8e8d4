"""JWT bearer auth: roles, expiry and forged tokens."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from daiko.auth import Role, decode_token, mint_token
from daiko.problems import Problem
from daiko.settings import DaikoSettings

SETTINGS = DaikoSettings()


def test_a_customer_token_names_the_customer() -> None:
    principal = decode_token(SETTINGS, mint_token(SETTINGS, subject="cust-1", role=Role.CUSTOMER))
    assert principal.subject == "cust-1"
    assert not principal.is_staff


def test_a_staff_token_has_the_staff_role() -> None:
    assert decode_token(SETTINGS, mint_token(SETTINGS, subject="s-1", role=Role.STAFF)).is_staff


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        mint_token(
            DaikoSettings(jwt_secret="another-secret-that-is-long-enough-0123456789"), subject="x", role=Role.STAFF
        ),
        mint_token(SETTINGS, subject="x", role=Role.CUSTOMER, ttl=timedelta(seconds=-5)),
        jwt.encode(
            {"sub": "x", "role": "staff", "exp": 9999999999}, SETTINGS.jwt_secret.get_secret_value(), algorithm="HS256"
        ),
    ],
    ids=["garbage", "forged", "expired", "no-audience"],
)
def test_bad_tokens_are_401_problems(token: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_token(SETTINGS, token)
    assert raised.value.status == 401


def test_production_rs256_tokens_are_checked_against_the_identity_providers_jwks() -> None:
    """``DAIKO_JWT_ALGORITHM=RS256`` + ``DAIKO_JWT_JWKS_URL``: keys come from the provider, not from us."""
    import json
    import threading
    from datetime import UTC, datetime
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography.hazmat.primitives.asymmetric import rsa

    provider_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider_key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "provider-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = DaikoSettings(jwt_algorithm="RS256", jwt_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json")
        claims = {
            "sub": "cust-rs",
            "role": "customer",
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        }
        good = jwt.encode(claims, provider_key, algorithm="RS256", headers={"kid": "provider-1"})
        assert decode_token(settings, good).subject == "cust-rs"

        forged = jwt.encode(claims, stranger_key, algorithm="RS256", headers={"kid": "provider-1"})
        with pytest.raises(Problem) as raised:
            decode_token(settings, forged)
        assert raised.value.status == 401

        hs256 = mint_token(SETTINGS, subject="cust-rs", role=Role.STAFF)  # the development secret is no key here
        with pytest.raises(Problem):
            decode_token(settings, hs256)
    finally:
        server.shutdown()


def test_a_token_already_verified_still_stops_working_at_its_expiry() -> None:
    """Verified tokens are remembered (the read path checks a signature once per token), never past ``exp``."""
    token = mint_token(SETTINGS, subject="cust-brief", role=Role.CUSTOMER, ttl=timedelta(seconds=1))
    assert decode_token(SETTINGS, token).subject == "cust-brief"
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expiry - time.time()) + 0.05)
    with pytest.raises(Problem) as refused:
        decode_token(SETTINGS, token)
    assert refused.value.status == 401


def test_a_token_verified_by_one_service_is_not_taken_by_a_service_with_another_secret() -> None:
    other = DaikoSettings(jwt_secret="another-secret-that-is-long-enough-0123456789")
    token = mint_token(SETTINGS, subject="cust-1", role=Role.CUSTOMER)
    assert decode_token(SETTINGS, token).subject == "cust-1"
    with pytest.raises(Problem) as refused:
        decode_token(other, token)
    assert refused.value.status == 401
