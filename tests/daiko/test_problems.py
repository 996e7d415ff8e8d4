"""Problems in one place: domain exceptions through a service's table, invalid input flattened once, never a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from daiko.errors import DomainError, InvalidInput, NotFound, Unavailable
from daiko.problems import ProblemTable, ProblemType, install_problem_handlers, problem_for


class BillingRefused(DomainError):
    code = "billing-refused"


class BillingRevised(BillingRefused):
    code = "billing-revised"


TABLE: ProblemTable = {
    BillingRefused: ProblemType(409, "Billing refused"),
    BillingRevised: ProblemType(422, "Billing revised"),
}


def test_the_nearest_class_in_the_table_decides_the_status_and_facts_become_members() -> None:
    revised = problem_for(BillingRevised("billing 1 is at revision 2", revision=2), TABLE)
    assert (revised.status, revised.title) == (422, "Billing revised")
    assert revised.body() == {
        "type": "https://daiko.dev/problems/billing-revised",
        "title": "Billing revised",
        "status": 422,
        "detail": "billing 1 is at revision 2",
        "revision": 2,
    }
    assert problem_for(BillingRefused("no", title="Not now"), TABLE).title == "Not now"


def test_the_plumbings_own_exceptions_have_their_status_without_any_table() -> None:
    assert problem_for(NotFound("order P1"), {}).body()["detail"] == "order P1 does not exist"
    assert problem_for(NotFound("order P1"), {}).status == 404
    assert problem_for(InvalidInput("not a cursor"), {}).status == 422
    unavailable = problem_for(Unavailable("PayPal is down"), {})
    assert unavailable.status == 503 and unavailable.headers["Retry-After"]
    assert problem_for(DomainError("refused"), {}).status == 409


class Item(BaseModel):
    quantity: int = Field(ge=1)


class Form(BaseModel):
    items: list[Item]


def _client() -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app, TABLE)

    @app.post("/forms")
    async def post_form(form: Form) -> dict[str, int]:
        raise BillingRevised("billing 1 is at revision 2", revision=2)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://daiko.test")


async def test_over_http_a_domain_exception_and_invalid_input_are_problem_json() -> None:
    async with _client() as client:
        refused, invalid, bug = (
            await client.post("/forms", json={"items": [{"quantity": 1}]}),
            await client.post("/forms", json={"items": [{"quantity": 0}]}),
            await client.get("/boom"),
        )
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["revision"] == 2 and refused.json()["instance"] == "/forms"
    assert invalid.status_code == 422
    assert invalid.json()["type"].endswith("/validation-error")
    assert invalid.json()["errors"] == [
        {"field": "items.0.quantity", "message": "Input should be greater than or equal to 1"}
    ]
    assert invalid.json()["detail"] == "invalid fields: items.0.quantity"
    assert bug.status_code == 500 and bug.headers["content-type"] == "application/problem+json"
