"""The staff operations' Temporal handlers: a signal and an update for each, one implementation.

Staff send the signal ``X`` from the Temporal Web UI with a JSON payload; the
staff API calls the update ``staff_X`` and gets the order's view back, or a
refusal. Both run the same rule (``workflows.operations.STAFF``). The signal
takes whatever JSON values it was sent (``*payloads``, so no count or shape of
input can fail the workflow task) and validates them inside the workflow: a
malformed payload is recorded in the order's history instead of being dropped
by the SDK or, worse, leaving the order stuck on a failing workflow task.

This mixin only names and describes the handlers; ``OrderWorkflow`` implements
the three methods they delegate to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from temporalio import workflow

from workflows.models import (
    AmendItemsRequest,
    CannotHandleRequest,
    ConfirmHandlingRequest,
    EstimateRequest,
    ItemArrivedRequest,
    ItemPurchasedRequest,
    ItemUnavailableRequest,
    MoveDeadlineRequest,
    OrderView,
    ResolveDisputeRequest,
    SecondBillingRequest,
    ShipRequest,
    StaffCancelRequest,
    StaffRequest,
)
from workflows.operations import STAFF, StaffOperation


class StaffHandlers(ABC):
    """Signal ``X`` and update ``staff_X`` (with its validator) for every staff operation X."""

    @abstractmethod
    async def _staff_signal(self, operation: StaffOperation, payloads: tuple[Any, ...]) -> None: ...

    @abstractmethod
    async def _staff_update(self, operation: StaffOperation, request: StaffRequest) -> OrderView: ...

    @abstractmethod
    def _staff_check(self, operation: StaffOperation, request: StaffRequest) -> None: ...

    @workflow.signal(name="estimate", description=STAFF["estimate"].description)
    async def estimate(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["estimate"], payloads)

    @workflow.update(name="staff_estimate", description=STAFF["estimate"].description)
    async def staff_estimate(self, request: EstimateRequest) -> OrderView:
        return await self._staff_update(STAFF["estimate"], request)

    @staff_estimate.validator
    def _may_estimate(self, request: EstimateRequest) -> None:
        self._staff_check(STAFF["estimate"], request)

    @workflow.signal(name="confirm_handling", description=STAFF["confirm_handling"].description)
    async def confirm_handling(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["confirm_handling"], payloads)

    @workflow.update(name="staff_confirm_handling", description=STAFF["confirm_handling"].description)
    async def staff_confirm_handling(self, request: ConfirmHandlingRequest) -> OrderView:
        return await self._staff_update(STAFF["confirm_handling"], request)

    @staff_confirm_handling.validator
    def _may_confirm_handling(self, request: ConfirmHandlingRequest) -> None:
        self._staff_check(STAFF["confirm_handling"], request)

    @workflow.signal(name="cannot_handle", description=STAFF["cannot_handle"].description)
    async def cannot_handle(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["cannot_handle"], payloads)

    @workflow.update(name="staff_cannot_handle", description=STAFF["cannot_handle"].description)
    async def staff_cannot_handle(self, request: CannotHandleRequest) -> OrderView:
        return await self._staff_update(STAFF["cannot_handle"], request)

    @staff_cannot_handle.validator
    def _may_cannot_handle(self, request: CannotHandleRequest) -> None:
        self._staff_check(STAFF["cannot_handle"], request)

    @workflow.signal(name="item_purchased", description=STAFF["item_purchased"].description)
    async def item_purchased(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["item_purchased"], payloads)

    @workflow.update(name="staff_item_purchased", description=STAFF["item_purchased"].description)
    async def staff_item_purchased(self, request: ItemPurchasedRequest) -> OrderView:
        return await self._staff_update(STAFF["item_purchased"], request)

    @staff_item_purchased.validator
    def _may_item_purchased(self, request: ItemPurchasedRequest) -> None:
        self._staff_check(STAFF["item_purchased"], request)

    @workflow.signal(name="item_unavailable", description=STAFF["item_unavailable"].description)
    async def item_unavailable(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["item_unavailable"], payloads)

    @workflow.update(name="staff_item_unavailable", description=STAFF["item_unavailable"].description)
    async def staff_item_unavailable(self, request: ItemUnavailableRequest) -> OrderView:
        return await self._staff_update(STAFF["item_unavailable"], request)

    @staff_item_unavailable.validator
    def _may_item_unavailable(self, request: ItemUnavailableRequest) -> None:
        self._staff_check(STAFF["item_unavailable"], request)

    @workflow.signal(name="item_arrived", description=STAFF["item_arrived"].description)
    async def item_arrived(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["item_arrived"], payloads)

    @workflow.update(name="staff_item_arrived", description=STAFF["item_arrived"].description)
    async def staff_item_arrived(self, request: ItemArrivedRequest) -> OrderView:
        return await self._staff_update(STAFF["item_arrived"], request)

    @staff_item_arrived.validator
    def _may_item_arrived(self, request: ItemArrivedRequest) -> None:
        self._staff_check(STAFF["item_arrived"], request)

    @workflow.signal(name="issue_second_billing", description=STAFF["issue_second_billing"].description)
    async def issue_second_billing(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["issue_second_billing"], payloads)

    @workflow.update(name="staff_issue_second_billing", description=STAFF["issue_second_billing"].description)
    async def staff_issue_second_billing(self, request: SecondBillingRequest) -> OrderView:
        return await self._staff_update(STAFF["issue_second_billing"], request)

    @staff_issue_second_billing.validator
    def _may_issue_second_billing(self, request: SecondBillingRequest) -> None:
        self._staff_check(STAFF["issue_second_billing"], request)

    @workflow.signal(name="ship", description=STAFF["ship"].description)
    async def ship(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["ship"], payloads)

    @workflow.update(name="staff_ship", description=STAFF["ship"].description)
    async def staff_ship(self, request: ShipRequest) -> OrderView:
        return await self._staff_update(STAFF["ship"], request)

    @staff_ship.validator
    def _may_ship(self, request: ShipRequest) -> None:
        self._staff_check(STAFF["ship"], request)

    @workflow.signal(name="resolve_dispute", description=STAFF["resolve_dispute"].description)
    async def resolve_dispute(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["resolve_dispute"], payloads)

    @workflow.update(name="staff_resolve_dispute", description=STAFF["resolve_dispute"].description)
    async def staff_resolve_dispute(self, request: ResolveDisputeRequest) -> OrderView:
        return await self._staff_update(STAFF["resolve_dispute"], request)

    @staff_resolve_dispute.validator
    def _may_resolve_dispute(self, request: ResolveDisputeRequest) -> None:
        self._staff_check(STAFF["resolve_dispute"], request)

    @workflow.signal(name="amend_items", description=STAFF["amend_items"].description)
    async def amend_items(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["amend_items"], payloads)

    @workflow.update(name="staff_amend_items", description=STAFF["amend_items"].description)
    async def staff_amend_items(self, request: AmendItemsRequest) -> OrderView:
        return await self._staff_update(STAFF["amend_items"], request)

    @staff_amend_items.validator
    def _may_amend_items(self, request: AmendItemsRequest) -> None:
        self._staff_check(STAFF["amend_items"], request)

    @workflow.signal(name="cancel_order", description=STAFF["cancel_order"].description)
    async def cancel_order(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["cancel_order"], payloads)

    @workflow.update(name="staff_cancel_order", description=STAFF["cancel_order"].description)
    async def staff_cancel_order(self, request: StaffCancelRequest) -> OrderView:
        return await self._staff_update(STAFF["cancel_order"], request)

    @staff_cancel_order.validator
    def _may_cancel_order(self, request: StaffCancelRequest) -> None:
        self._staff_check(STAFF["cancel_order"], request)

    @workflow.signal(name="move_deadline", description=STAFF["move_deadline"].description)
    async def move_deadline(self, *payloads: Any) -> None:
        await self._staff_signal(STAFF["move_deadline"], payloads)

    @workflow.update(name="staff_move_deadline", description=STAFF["move_deadline"].description)
    async def staff_move_deadline(self, request: MoveDeadlineRequest) -> OrderView:
        return await self._staff_update(STAFF["move_deadline"], request)

    @staff_move_deadline.validator
    def _may_move_deadline(self, request: MoveDeadlineRequest) -> None:
        self._staff_check(STAFF["move_deadline"], request)
