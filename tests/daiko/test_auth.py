"""JWT bearer auth: roles, expiry and forged tokens."""

from __future__ import annotations

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
        jwt.encode({"sub": "x", "role": "staff", "exp": 9999999999}, SETTINGS.jwt_secret, algorithm="HS256"),
    ],
    ids=["garbage", "forged", "expired", "no-audience"],
)
def test_bad_tokens_are_401_problems(token: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_token(SETTINGS, token)
    assert raised.value.status == 401
