"""JWT bearer auth: ``sub`` is the customer id, ``role`` is ``customer`` or ``staff``.

A token is checked against the issuer it names, among the trusted ones
(:func:`trusted_issuers`), each with its own algorithm and key source, so a
token can never choose how it is verified:

* ``DAIKO_JWT_ISSUER``: HS256 with a shared secret in development (``daiko token``
  and the development sign-in mint these); RS256 against ``DAIKO_JWT_JWKS_URL`` in
  production (``DAIKO_JWT_ALGORITHM=RS256``), the agency's identity provider;
* outside production also ``DAIKO_OIDC_ISSUER``, RS256 against ``DAIKO_OIDC_JWKS_URL``:
  the local stack's OpenID Connect provider (``deploy/oidc``), whose JWT access
  tokens the portal obtains by authorization code + PKCE.

In production only the configured issuer is trusted (the settings refuse an
OIDC issuer other than ``DAIKO_JWT_ISSUER``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from contracts.ids import CustomerId
from daiko import logs, tracing
from daiko.problems import Problem, invalid_request
from daiko.ratelimit import count_auth_failure, count_creation
from daiko.settings import DaikoSettings

_SUBJECT: TypeAdapter[str] = TypeAdapter(CustomerId)


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


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted, and the one way its tokens are verified."""

    issuer: str
    algorithm: str
    secret: SecretStr | None = None
    jwks_url: str | None = None

    def key(self, token: str) -> Any:
        if self.algorithm == "HS256":
            assert self.secret is not None
            return self.secret.get_secret_value()
        if not self.jwks_url:
            raise Problem(500, "Auth misconfigured", "DAIKO_JWT_JWKS_URL is required for RS256")
        return _jwks_client(self.jwks_url).get_signing_key_from_jwt(token).key


def trusted_issuers(settings: DaikoSettings) -> dict[str, TrustedIssuer]:
    """The issuers whose tokens this process accepts, by ``iss``: the configured one, and outside production
    the local OpenID Connect provider."""
    return {i.issuer: i for i in _issuers_of(settings)}


def _issuers_of(settings: DaikoSettings) -> tuple[TrustedIssuer, ...]:
    """:func:`trusted_issuers` as a hashable tuple, built once per configuration (every request asks)."""
    oidc = None if settings.is_production else (settings.oidc_issuer, settings.oidc_jwks_url)
    hs256 = settings.jwt_algorithm == "HS256"
    return _issuers(
        settings.jwt_issuer,
        settings.jwt_algorithm,
        settings.jwt_secret if hs256 else None,
        settings.jwt_jwks_url,
        oidc,
    )


@lru_cache(maxsize=16)
def _issuers(
    issuer: str,
    algorithm: str,
    secret: SecretStr | None,
    jwks_url: str | None,
    oidc: tuple[str | None, str | None] | None,
) -> tuple[TrustedIssuer, ...]:
    primary = TrustedIssuer(issuer, algorithm, secret=secret, jwks_url=jwks_url)
    if oidc is None or not all(oidc) or oidc[0] == issuer:
        return (primary,)
    oidc_issuer, oidc_jwks_url = oidc
    assert oidc_issuer is not None
    return (primary, TrustedIssuer(oidc_issuer, "RS256", jwks_url=oidc_jwks_url))


_VERIFIED_MAX = 10_000
_verified: OrderedDict[tuple[object, ...], tuple[Principal, float]] = OrderedDict()
"""Tokens whose signature, issuer and audience were checked, with their ``exp``: the hot read path
pays for the verification once per token, not once per request.

Keyed by what the verification depended on too (every trusted issuer with its algorithm and key
source, the audience: a test may build several settings), bounded (least recently used out), and an
entry counts only until the token's own expiry, so nothing is accepted that a fresh verification
would refuse. Only verified tokens go in.
"""


def decode_token(settings: DaikoSettings, token: str) -> Principal:
    """The token's principal, verified (signature, ``iss``, ``aud``, ``exp``) on first sight, then remembered."""
    key = (_issuers_of(settings), settings.jwt_audience, token)
    cached = _verified.get(key)
    if cached is not None:
        principal, expires = cached
        if time.time() < expires:
            _verified.move_to_end(key)
            return principal
        del _verified[key]
    principal, expires = _verify(settings, token)
    _verified[key] = (principal, expires)
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return principal


def _verify(settings: DaikoSettings, token: str) -> tuple[Principal, float]:
    try:
        named = jwt.decode(token, options={"verify_signature": False}).get("iss")
        trusted = trusted_issuers(settings).get(named) if isinstance(named, str) else None
        if trusted is None:
            raise jwt.InvalidIssuerError(f"issuer {named!r} is not trusted")
        claims = jwt.decode(
            token,
            trusted.key(token),
            algorithms=[trusted.algorithm],
            audience=settings.jwt_audience,
            issuer=trusted.issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
        role = Role(claims.get("role", "customer"))
    except (jwt.PyJWTError, ValueError) as exc:
        raise Problem(401, "Unauthorized", f"invalid bearer token: {exc}", code="unauthorized") from exc
    return Principal(subject=_subject(claims["sub"]), role=role), float(claims["exp"])


def _subject(sub: object) -> str:
    """The token's subject as an id of :mod:`contracts.ids`: a NUL or a 500-character ``sub`` goes no further.

    A 422 like any other non-canonical input (the signature was good: the
    issuer wrote a subject no service can store), not a 401 to retry with.
    """
    try:
        return _SUBJECT.validate_python(sub)
    except ValidationError:
        raise invalid_request(
            "the token's subject is not a valid id (1-100 characters, no control characters)",
            errors=[{"field": "header.authorization.sub", "message": "not a valid id"}],
            code="invalid-token-subject",
        ) from None


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; every failed authentication counts against the IP's limit (429 past it, not 401).

    The settings are the ones the service was built with (``app.state.settings``, one object per
    process), read here rather than through a dependency of their own: each dependency is a step
    FastAPI resolves on every authenticated request. This and the role checks below are ``async``
    because FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop each.
    """
    settings: DaikoSettings = request.app.state.settings
    try:
        if credentials is None:
            raise Problem(401, "Unauthorized", "a bearer token is required", code="unauthorized")
        principal = decode_token(settings, credentials.credentials)
    except Problem as refused:
        if refused.status == 401:
            await count_auth_failure(request)
        raise
    if not principal.is_staff:  # the verified caller, on every line the request logs and on its span
        logs.bind(customer_id=principal.subject)
        tracing.annotate({"customer_id": principal.subject})
    return principal


async def current_staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_staff:
        raise Problem(403, "Forbidden", "staff role required", code="forbidden")
    return principal


async def current_customer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.is_staff:
        raise Problem(403, "Forbidden", "this operation is the customer's own", code="forbidden")
    return principal


async def creating_customer(request: Request, customer: Annotated[Principal, Depends(current_customer)]) -> Principal:
    """The customer of a route that creates or pays, counted against the rate limits (:mod:`daiko.ratelimit`)."""
    await count_creation(request, customer.subject)
    return customer


PrincipalDep = Annotated[Principal, Depends(current_principal)]
StaffDep = Annotated[Principal, Depends(current_staff)]
CustomerDep = Annotated[Principal, Depends(current_customer)]
CreatingDep = Annotated[Principal, Depends(creating_customer)]
"""``CustomerDep`` for the routes that create or pay: 429 with ``Retry-After`` past the rate limits."""
