"""JWT bearer auth: ``sub`` is the customer id, ``role`` is ``customer`` or ``staff``.

HS256 with a shared secret in development (``daiko token`` mints tokens);
RS256 against a JWKS URL in production (``DAIKO_JWT_ALGORITHM=RS256``,
``DAIKO_JWT_JWKS_URL``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from daiko.problems import Problem
from daiko.settings import DaikoSettings


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


class Principal(BaseModel):
    subject: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF


def mint_token(settings: DaikoSettings, *, subject: str, role: Role, ttl: timedelta = timedelta(hours=12)) -> str:
    """Development tokens only: production tokens come from the agency's identity provider."""
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


@lru_cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True)


def decode_token(settings: DaikoSettings, token: str) -> Principal:
    try:
        if settings.jwt_algorithm == "HS256":
            key: Any = settings.jwt_secret.get_secret_value()
        else:
            if not settings.jwt_jwks_url:
                raise Problem(500, "Auth misconfigured", "DAIKO_JWT_JWKS_URL is required for RS256")
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],  # type: ignore[arg-type]
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp"]},
        )
        return Principal(subject=str(claims["sub"]), role=Role(claims.get("role", "customer")))
    except (jwt.PyJWTError, ValueError) as exc:
        raise Problem(401, "Unauthorized", f"invalid bearer token: {exc}", code="unauthorized") from exc


_bearer = HTTPBearer(auto_error=False)


def _process_settings(request: Request) -> DaikoSettings:
    """The settings the service was built with (``app.state.settings``): one object per process."""
    settings: DaikoSettings = request.app.state.settings
    return settings


def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: Annotated[DaikoSettings, Depends(_process_settings)],
) -> Principal:
    if credentials is None:
        raise Problem(401, "Unauthorized", "a bearer token is required", code="unauthorized")
    return decode_token(settings, credentials.credentials)


def current_staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_staff:
        raise Problem(403, "Forbidden", "staff role required", code="forbidden")
    return principal


def current_customer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.is_staff:
        raise Problem(403, "Forbidden", "this operation is the customer's own", code="forbidden")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
StaffDep = Annotated[Principal, Depends(current_staff)]
CustomerDep = Annotated[Principal, Depends(current_customer)]
