"""Applying for an order, as a specification: the use case against in-memory fakes, no stack.

``service.apply_for_order`` depends on two protocols, the applications it
keeps (``repository.Applications``) and what starts workflows
(``service.OrderStarter``); here both are fakes that remember what was asked
of them. The same behaviour through HTTP, PostgreSQL and Temporal is covered
by ``test_api.py`` and ``test_unavailable.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from daiko.errors import Unavailable
from daiko.idempotency import IdempotencyKeyReused
from daiko.problems import Problem
from services.orders import service
from services.orders.domain import NotACustomer
from services.orders.repository import OrderHead, Reservation
from services.orders.schemas import PURCHASE_EXAMPLE, ApplicationIn
from services.orders.settings import OrdersSettings
from workflows.models import OrderApplication, OrderStatus


@dataclass
class FakeApplications:
    """``applied_orders`` in a dict: (customer, key) -> reservation; keyless applications are never found again."""

    by_key: dict[tuple[str, str], Reservation] = field(default_factory=dict)
    reserved: dict[str, str] = field(default_factory=dict)  # order id -> customer
    statuses: dict[str, OrderStatus] = field(default_factory=dict)  # what the read model would show

    async def reserve(
        self, *, order_id: str, customer_id: str, idempotency_key: str | None, fingerprint: str
    ) -> Reservation:
        if idempotency_key is not None and (customer_id, idempotency_key) in self.by_key:
            earlier = self.by_key[(customer_id, idempotency_key)]
            return Reservation(order_id=earlier.order_id, fingerprint=earlier.fingerprint, created=False)
        reservation = Reservation(order_id=order_id, fingerprint=fingerprint, created=True)
        if idempotency_key is not None:
            self.by_key[(customer_id, idempotency_key)] = reservation
        self.reserved[order_id] = customer_id
        return reservation

    async def forget(self, *, order_id: str) -> None:
        self.reserved.pop(order_id, None)
        self.by_key = {k: r for k, r in self.by_key.items() if r.order_id != order_id}

    async def head(self, *, order_id: str) -> OrderHead | None:
        if order_id not in self.reserved:
            return None
        status = self.statuses.get(order_id, OrderStatus.APPLIED)
        return OrderHead(order_id=order_id, customer_id=self.reserved[order_id], status=status, projected=True)


@dataclass
class FakeTemporal:
    """Starts each workflow id once, like Temporal; ``down`` makes every start fail as an outage does."""

    started: list[OrderApplication] = field(default_factory=list)
    down: bool = False

    async def start(self, application: OrderApplication) -> bool:
        if self.down:
            raise Unavailable("Temporal is unreachable")
        if any(s.order_id == application.order_id for s in self.started):
            return False
        self.started.append(application)
        return True


def _application(**change: Any) -> ApplicationIn:
    return ApplicationIn.model_validate({**PURCHASE_EXAMPLE, **change})


async def _apply(
    applications: FakeApplications,
    temporal: FakeTemporal,
    *,
    key: str | None = "key-1",
    customer: str = "cust-1",
    application: ApplicationIn | None = None,
    settings: OrdersSettings | None = None,
) -> service.Applied:
    return await service.apply_for_order(
        applications=applications,
        workflows=temporal,
        settings=settings or OrdersSettings(),
        customer_id=customer,
        application=application or _application(),
        idempotency_key=key,
    )


async def test_an_application_reserves_an_order_id_and_starts_its_workflow_for_the_tokens_customer() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    applied = await _apply(applications, temporal, customer="cust-7")
    assert (applied.created, applied.status) == (True, OrderStatus.APPLIED)
    assert [s.order_id for s in temporal.started] == [applied.order_id]
    assert temporal.started[0].customer_id == "cust-7"
    assert temporal.started[0].policy == OrdersSettings().order_policy()


async def test_the_same_key_and_body_again_is_the_same_order_and_starts_nothing_new() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    first = await _apply(applications, temporal)
    applications.statuses[first.order_id] = OrderStatus.AWAITING_PAYMENT  # it moved on meanwhile
    again = await _apply(applications, temporal)
    assert (again.order_id, again.created, again.status) == (first.order_id, False, OrderStatus.AWAITING_PAYMENT)
    assert len(temporal.started) == 1


async def test_the_same_key_for_another_application_is_refused_and_names_the_first_order() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    first = await _apply(applications, temporal)
    with pytest.raises(IdempotencyKeyReused) as refused:
        await _apply(applications, temporal, application=_application(customer_note="another one"))
    assert first.order_id in str(refused.value)
    assert len(temporal.started) == 1


async def test_without_a_key_each_application_is_a_new_order() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    one, two = await _apply(applications, temporal, key=None), await _apply(applications, temporal, key=None)
    assert one.order_id != two.order_id and len(temporal.started) == 2


async def test_temporal_down_keeps_a_keyed_reservation_so_the_retry_starts_that_same_order() -> None:
    applications, temporal = FakeApplications(), FakeTemporal(down=True)
    with pytest.raises(Unavailable):
        await _apply(applications, temporal)
    (reserved,) = applications.reserved
    temporal.down = False
    retried = await _apply(applications, temporal)
    assert retried.order_id == reserved and [s.order_id for s in temporal.started] == [reserved]


async def test_temporal_down_forgets_a_keyless_reservation_that_no_retry_could_name() -> None:
    applications, temporal = FakeApplications(), FakeTemporal(down=True)
    with pytest.raises(Unavailable):
        await _apply(applications, temporal, key=None)
    assert applications.reserved == {}


async def test_an_application_over_the_order_ceiling_is_refused_before_anything_is_kept() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    with pytest.raises(Problem) as refused:
        await _apply(applications, temporal, settings=OrdersSettings(max_order_total=10_000))
    assert refused.value.status == 422 and "10000 yen" in str(refused.value.detail)
    assert applications.reserved == {} and temporal.started == []


async def test_a_token_subject_that_cannot_be_a_customer_id_applies_for_nothing() -> None:
    applications, temporal = FakeApplications(), FakeTemporal()
    with pytest.raises(NotACustomer):
        await _apply(applications, temporal, customer="c" * 500)
    assert applications.reserved == {} and temporal.started == []
