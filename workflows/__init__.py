"""OrderWorkflow: the single durable source of truth of one order (docs/architecture.md, docs/rules.md).

One workflow per order, id ``order-<order_id>`` (``workflow_id``); starting the
same order twice is refused (``workflows.client.start_order``). Every automatic
rule is a durable timer inside it; staff can move each one.

Names callers use (payload models are in ``workflows.models``):

Query
    ``view`` -> ``OrderView``: the R1 order-details view, with the customer's
    pending operations (amount, deadline).
``staff_part`` -> ``StaffPart``: what only staff see (internal notes, rejected
    signals, staff alerts); never inside ``view``, which customers are served.

Customer operations: updates, called by the orders service. Every update returns
``OrderView``; a refused one fails with ``ApplicationError`` whose ``type`` is a
``workflows.refusals.Refusal`` (HTTP 409, ``InvalidRequest`` 422).
    ``pay_billing``       PayBillingRequest        ask the deposit to charge a billing
    ``cancel``            CustomerCancelRequest    R4: before any payment only
    ``report_reception``  ReceptionReportRequest   R7 received fine / R8 problem
    ``add_tracking``      AddTrackingRequest       forward: an item's domestic tracking number, until it arrives

Deposit results: signal ``deposit_event`` with ``DepositEvent`` (de-duplicated by
``event_id``), sent by the orders service's bridge from daiko.deposits.events.v1:
``deposit.charged``, ``deposit.charge_rejected``, ``deposit.refunded`` and, if
bridged, ``deposit.refund_rejected``. A charge that lands for a billing the order
no longer asks for is refunded at once. The workflow ends only once no charge or
refund is still travelling, so no deposit answer ever meets a closed workflow.

Activity: ``record_transition(OrderTransition)``, implemented by the orders service
(``services.orders.activities``, run by ``services.orders.worker``), writes
the read model (version-guarded) and the outbox in one orders-database transaction.

Staff operations: for each name X below, a signal ``X`` (Temporal Web UI, JSON
payload; a malformed, refused or unknown one is recorded in the order's staff
part, never the customer's history, and changes nothing) and an update ``staff_X`` (staff API; refusals as above). Both
run the same rule. Every payload takes ``internal_note`` (staff part only; ``note``
is its older name) and ``message_to_customer`` (the events' ``staff_message`` and
the customer's history). Payload models:
    ``estimate``              EstimateRequest         estimate / re-estimate billing 1 (R5)
    ``confirm_handling``      ConfirmHandlingRequest  forward: handling contact + item confirmation (R5, R6)
    ``cannot_handle``         CannotHandleRequest     cancel as unavailable, refund everything (R10)
    ``item_purchased``        ItemPurchasedRequest    purchase: item bought
    ``item_unavailable``      ItemUnavailableRequest  item cannot be bought or will not come: refund it (R10)
    ``item_arrived``          ItemArrivedRequest      item at the warehouse (R6, R11)
    ``issue_second_billing``  SecondBillingRequest    two-time plan: international shipping + extras (R12)
    ``ship``                  ShipRequest             method, carrier, tracking numbers (R7)
    ``resolve_dispute``       ResolveDisputeRequest   refund up to what was paid, complete (R8)
    ``amend_items``           AmendItemsRequest       partial cancel / quantity change -> new estimate (R4)
    ``cancel_order``          StaffCancelRequest      staff cancel, refund everything paid (R10)
    ``move_deadline``         MoveDeadlineRequest     move an automatic deadline; its reminder follows

History is bounded: an order continues as new (input ``CarriedOver`` instead of
``OrderApplication``, same workflow id) when its run's history grows, and a
signal over 64 KiB of JSON is rejected before its model sees it (``order_workflow``).

Changing running logic: wrap the new behaviour in ``if workflow.patched("<id>"):``
(old behaviour in ``else``), ship it, and once no order started before it is
still running replace with ``workflow.deprecate_patch("<id>")``. The replay test
over ``tests/workflows/histories/`` fails if a change breaks running orders.
"""

from __future__ import annotations

WORKFLOW_NAME = "OrderWorkflow"
RECORD_TRANSITION = "record_transition"  # read model + outbox in one transaction
VERIFY_LEDGER_ATTESTATION = "verify_ledger_attestation"  # local activity: is this money fact signed by the ledger?
VIEW_QUERY = "view"
STAFF_PART_QUERY = "staff_part"  # what only staff see: internal notes, rejected signals, staff alerts
DEPOSIT_EVENT_SIGNAL = "deposit_event"
CUSTOMER_UPDATES: tuple[str, ...] = ("pay_billing", "cancel", "report_reception", "add_tracking")
STAFF_OPERATIONS: tuple[str, ...] = (
    "estimate",
    "confirm_handling",
    "cannot_handle",
    "item_purchased",
    "item_unavailable",
    "item_arrived",
    "issue_second_billing",
    "ship",
    "resolve_dispute",
    "amend_items",
    "cancel_order",
    "move_deadline",
)
"""Staff operation X is the signal ``X`` and the update ``staff_update_name(X)``."""


def staff_update_name(operation: str) -> str:
    """The update twin of a staff signal: ``staff_<operation>``."""
    return f"staff_{operation}"


def workflow_id(order_id: str) -> str:
    return f"order-{order_id}"
