"""What the orders API does, between the routers and the database / Temporal.

Applying is made safe without a transaction spanning PostgreSQL and Temporal:
the application (and its ``Idempotency-Key``) is committed first, which fixes
the order id; the workflow is then started under that id. A retry finds the
same order id and starts it again, which Temporal turns into "already
started", so a lost response or a crash between the two steps ends with
exactly one order. Replaying the answer itself (and refusing a key still in
flight) is the plumbing's :mod:`daiko.idempotency`; what is kept here is only
the part that must commit before the workflow starts: key -> order id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from daiko.errors import DomainError, NotFound
from daiko.idempotency import IdempotencyKeyReused
from daiko.problems import Problem, invalid_request
from services.orders import mapping, repository
from services.orders.details import OrderDetails, with_thread
from services.orders.domain import (
    MAX_CUSTOMER_ID,
    NotACustomer,
    application_fingerprint,
    closed_order_error,
    new_order_id,
)
from services.orders.gateway import OrderGone, OrderWorkflows
from services.orders.halts import service as halts
from services.orders.schemas import ApplicationIn
from services.orders.settings import OrdersSettings
from workflows.models import CLOSED_STATUSES, OrderApplication, OrderStatus, OrderView

log = logging.getLogger(__name__)


class OrderStarter(Protocol):
    """Starts an order's workflow (``gateway.OrderWorkflows`` in the service, a fake in unit tests)."""

    async def start(self, application: OrderApplication) -> bool:
        """True when started now, False when it already was (a replayed application)."""
        ...


@dataclass(frozen=True)
class Applied:
    order_id: str
    status: OrderStatus
    created: bool  # False: the same application was sent again with the same Idempotency-Key


async def apply_for_order(
    *,
    applications: repository.Applications,
    workflows: OrderStarter,
    settings: OrdersSettings,
    customer_id: str,
    application: ApplicationIn,
    idempotency_key: str | None,
) -> Applied:
    """Apply once per Idempotency-Key: reserve the order id (committed), then start its workflow under it."""
    if not 0 < len(customer_id) <= MAX_CUSTOMER_ID:
        raise NotACustomer("the token's subject is not a valid customer id")
    estimated = sum(item.quantity * item.unit_price_estimate for item in application.items)
    if estimated > settings.max_order_total:
        raise invalid_request(
            f"the items are estimated at {estimated} yen in all, over the {settings.max_order_total} yen an order "
            "may bill",
            errors=[{"field": "items", "message": f"estimated total over {settings.max_order_total} yen"}],
            code="order-total-too-large",
        )
    fingerprint = application_fingerprint(application.model_dump(mode="json"))
    reservation = await applications.reserve(
        order_id=new_order_id(application.service_type, datetime.now(UTC)),
        customer_id=customer_id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    if reservation.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {idempotency_key!r} was already used for a different application "
            f"(order {reservation.order_id}); use a new key for a new application",
            title="Idempotency-Key reused",
            order_id=reservation.order_id,
        )
    try:
        started = await workflows.start(
            mapping.application(
                application,
                order_id=reservation.order_id,
                customer_id=customer_id,
                policy=settings.order_policy(),
            )
        )
    except (Problem, DomainError):  # Temporal down (503) or the start refused
        if idempotency_key is None:
            # Without a key the client's retry is a new application: this reservation would only
            # ever name an order that does not exist. With a key, the retry starts this same order.
            await applications.forget(order_id=reservation.order_id)
        raise
    status = OrderStatus.APPLIED
    if not started:
        head = await applications.head(order_id=reservation.order_id)
        status = head.status if head else status
    log.info(
        "order applied" if reservation.created else "application replayed",
        extra={"order_id": reservation.order_id, "customer_id": customer_id},
    )
    return Applied(order_id=reservation.order_id, status=status, created=reservation.created)


async def order_view_json(
    *, reads: AsyncEngine, workflows: OrderWorkflows, order_id: str, customer_id: str | None
) -> str:
    """The R1 view from the read model; just after applying, from the workflow until its first row lands.

    ``customer_id`` None reads any order (staff); otherwise another customer's order is a 404.
    """
    async with reads.connect() as conn:
        view = await repository.order_view_json(conn, order_id=order_id, customer_id=customer_id)
        if view is not None:
            return view
        owner = await repository.applied_by(conn, order_id=order_id)
    if owner is None or (customer_id is not None and owner != customer_id):
        raise NotFound(f"order {order_id}")
    try:
        return (await workflows.view(order_id)).model_dump_json()
    except OrderGone:
        raise NotFound(f"order {order_id}") from None


async def order_details(
    *,
    details: OrderDetails,
    reads: AsyncEngine,
    workflows: OrderWorkflows,
    order_id: str,
    customer_id: str | None,
) -> bytes:
    """The order-details answer (R1): the stored view with its message thread, in one read (``details.py``).

    Just after applying, before the read model has the order, the workflow's view with an empty thread.
    ``customer_id`` None reads as staff; otherwise another customer's order is a 404.
    """
    body = await details.read(order_id, customer_id=customer_id)
    if body is not None:
        return body
    view = await order_view_json(reads=reads, workflows=workflows, order_id=order_id, customer_id=customer_id)
    return with_thread(view, order_id, staff=customer_id is None)


async def operate(
    *,
    reads: AsyncEngine,
    workflows: OrderWorkflows,
    order_id: str,
    customer_id: str | None,
    update: str,
    payload: BaseModel,
) -> OrderView:
    """Send one operation to the order's workflow and answer with the order as it is afterwards.

    The workflow decides; a refusal comes back as a problem saying why.
    ``customer_id`` None acts as staff on any order.
    """
    async with reads.connect() as conn:
        head = await repository.order_head(conn, order_id=order_id)
    if head is None or (customer_id is not None and head.customer_id != customer_id):
        raise NotFound(f"order {order_id}")
    if head.status is OrderStatus.HALTED:
        raise await _halted_refusal(reads, order_id)
    try:
        view = await workflows.update(order_id, update, payload)
    except OrderGone:
        async with reads.connect() as conn:
            head = await repository.order_head(conn, order_id=order_id)
        if head is None or not head.projected:  # applied, but its workflow never started
            raise NotFound(f"order {order_id}") from None
        if head.status not in CLOSED_STATUSES | {OrderStatus.HALTED}:  # an open order without its workflow
            await halts.notice_ended(reads, workflows, order_id, by="operation")
            async with reads.connect() as conn:  # halted now, by this call or by the sweep meanwhile
                head = await repository.order_head(conn, order_id=order_id)
        if head is not None and head.status is OrderStatus.HALTED:
            raise await _halted_refusal(reads, order_id) from None
        known = head.status if head is not None and head.status in CLOSED_STATUSES else None
        raise closed_order_error(order_id, known) from None
    if view is not None:
        return view
    return OrderView.model_validate_json(
        await order_view_json(reads=reads, workflows=workflows, order_id=order_id, customer_id=customer_id)
    )


async def _halted_refusal(reads: AsyncEngine, order_id: str) -> halts.OrderHalted:
    """The 409 for an operation on a halted order, with the explanation the customer sees on it."""
    async with reads.connect() as conn:
        view = await repository.order_view_json(conn, order_id=order_id)
    notice = OrderView.model_validate_json(view).halted if view else None
    return halts.halted_error(order_id, notice.explanation if notice else "")
