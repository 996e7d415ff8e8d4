"""Development sign-in: pick a customer id or staff and get a development token, for the portal's tests.

``POST /v1/dev/sign-in`` answers a bearer token minted by :func:`daiko.auth.mint_token`
(HS256 with the development secret), the same token ``daiko token`` prints. It
exists so that browser tests and a developer can be any customer without an
identity provider. With ``DAIKO_ENVIRONMENT=production`` the route is not
mounted at all (404): production identities come only from the agency's
identity provider. Only the orders service mounts it; the token is good for
all three services, as every development token is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts.ids import CustomerId, Id
from daiko.auth import Role, mint_token
from daiko.openapi import problem_responses
from daiko.settings import DaikoSettings

TOKEN_TTL = timedelta(hours=12)
DEV_TAG = "development"


class CustomerSignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "customer", "customer_id": "cust-1"}]}
    )

    role: Literal["customer"]
    customer_id: CustomerId


class StaffSignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "staff", "staff_id": "staff-1"}]}
    )

    role: Literal["staff"]
    staff_id: Annotated[Id, Field(description="The staff member's id: the subject recorded in histories.")]


SignIn = Annotated[CustomerSignIn | StaffSignIn, Field(discriminator="role")]


class DevToken(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"access_token": "eyJhbGciOiJIUzI1NiJ9...", "token_type": "bearer", "expires_in": 43200}]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


router = APIRouter(prefix="/v1/dev", tags=[DEV_TAG])


@router.post(
    "/sign-in",
    summary="Development only: a token for a customer id or for staff (absent in production)",
    responses=problem_responses(422),
)
async def dev_sign_in(
    request: Request,
    sign_in: Annotated[
        SignIn,
        Body(
            openapi_examples={
                "customer": {"value": {"role": "customer", "customer_id": "cust-1"}},
                "staff": {"value": {"role": "staff", "staff_id": "staff-1"}},
            }
        ),
    ],
) -> DevToken:
    settings: DaikoSettings = request.app.state.settings
    if isinstance(sign_in, CustomerSignIn):
        subject, role = sign_in.customer_id, Role.CUSTOMER
    else:
        subject, role = sign_in.staff_id, Role.STAFF
    token = mint_token(settings, subject=subject, role=role, ttl=TOKEN_TTL)
    return DevToken(access_token=token, expires_in=int(TOKEN_TTL.total_seconds()))


def dev_sign_in_routers(settings: DaikoSettings) -> list[APIRouter]:
    """The sign-in router outside production; none in it, so the path does not exist (404), not a refusal."""
    return [] if settings.is_production else [router]
