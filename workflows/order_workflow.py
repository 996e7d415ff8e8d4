"""OrderWorkflow: one order, from application to completion, cancellation or abandonment.

The life of an order, as this workflow runs it:

1. The customer applies (``order.applied``).
2. Staff estimate it (purchase) or confirm they can handle it (forward); the
   customer has 7 days to pay (R5), forward items must arrive in time (R6).
3. The customer pays a billing (update ``pay_billing``); the deposit is asked
   for the charge and answers with a ``deposit_event`` signal.
4. Staff buy the items (purchase), record arrivals at the warehouse, bill the
   international shipping on the two-time plan (abandonment after R11's days),
   and ship.
5. A reception report completes the order (R7), or opens a dispute that staff
   resolve with a refund (R8); without a report it completes after 50 days.

The rules themselves are in ``workflows.rules``; this class is the durable
shell around them. Every operation runs its rule on a copy of the order and
keeps the copy only if the rule did not refuse, then publishes a transition:
the next version of the read model plus the events and deposit commands it
caused. The main loop records transitions in order (activity
``record_transition``) and sleeps until the next alarm (a reminder or a
deadline) or until something changes it - the updatable-timer pattern, so a
re-estimate, a payment or a staff move takes effect at once.

History stays bounded, so no order is ever terminated for its size. When the
server suggests it (``is_continue_as_new_suggested``) or the run's history
reaches ``OrderPolicy.history_events_per_run`` events, the main loop records
every transition, waits until every handler has finished, and continues as new
with the whole order (``CarriedOver``): history entries, applied deposit
answers, deadlines with their absolute due times, the version the read model
has. The new run publishes nothing on starting and counts versions on, so the
customer, staff and the read model see no seam. Staff signals and deposit
answers are capped (``SIGNAL_PAYLOAD_CAP``: a bigger one is rejected before validation)
and only the latest ``REJECTED_SIGNALS_KEPT`` rejections stay listed.

Deterministic by construction: rules get ``workflow.now()``, event ids come
from ``workflow.uuid4()``, and the only I/O is the activity. Future changes to
this logic go through ``workflow.patched`` (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError
    from pydantic_core import to_json

    from workflows import (
        DEPOSIT_EVENT_SIGNAL,
        RECORD_TRANSITION,
        STAFF_OPERATIONS,
        STAFF_PART_QUERY,
        VERIFY_LEDGER_ATTESTATION,
        VIEW_QUERY,
        WORKFLOW_NAME,
    )
    from workflows.ledger_claims import LEDGER_ATTESTED_PATCH, ledger_claim
    from workflows.models import (
        AddTrackingRequest,
        CustomerCancelRequest,
        DepositEvent,
        OrderApplication,
        OrderStatus,
        OrderTransition,
        OrderView,
        OutgoingMessage,
        PayBillingRequest,
        ReceptionReportRequest,
        StaffPart,
        StaffRequest,
    )
    from workflows.operations import (
        CUSTOMER_DESCRIPTIONS,
        DEPOSIT_EVENT_DESCRIPTION,
        VIEW_DESCRIPTION,
        Rule,
        StaffOperation,
    )
    from workflows.order_state import CarriedOver, Order
    from workflows.refusals import Refusal, refuse
    from workflows.rules import cancellation, deadlines, fulfilment, payment, tracking
    from workflows.search_attributes import CUSTOMER_ID, NEXT_DEADLINE, ORDER_STATUS, SERVICE_TYPE
    from workflows.staff_handlers import StaffHandlers
    from workflows.trace_context import caller

_M = TypeVar("_M", bound=BaseModel)

CUSTOMER = "customer"
DEPOSITS = "deposits"
SYSTEM = "system"

RECORD_TIMEOUT = timedelta(seconds=10)
"""One transaction on the orders database: a worker that dies mid-activity delays the order by this much."""
VERIFY_TIMEOUT = timedelta(seconds=5)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
"""Retried until the orders database takes it: the order waits, it never skips a transition."""

CONTINUE_AS_NEW_PATCH = "continue-as-new-when-history-grows"
"""``workflow.patched`` id: orders started before it keep one run, as they ran; newer ones continue as new."""
BOUNDED_SIGNALS_PATCH = "signal-payloads-capped"
"""``workflow.patched`` id of the signal caps below: a signal seen before it replays as it was handled."""

LEAN_TRANSITIONS_PATCH = "transitions-recorded-as-local-activities"
"""``workflow.patched`` id of the cheaper transition (docs/operations.md, "What a transition costs"): the
transition is recorded by a local activity (its input, the whole view, stays out of the history, and no
extra workflow task waits for an activity task), and the search attributes are upserted once per workflow
task, only for values staff filter on that the recorded transitions changed. Orders started before it
record with a regular activity and upsert on every publish, as they ran."""

ESTIMATE_DEADLINE_PATCH = "estimate-deadline"
"""``workflow.patched`` id of R14 (docs/rules.md): an order started with it must be estimated (or its handling
confirmed) within ``OrderPolicy.estimate_due_after``, with a staff alert before. Orders started before it have
no such deadline, and replay as they ran (no timer where they had none)."""
STAFF_PART_PATCH = "rejections-in-the-staff-part"
"""``workflow.patched`` id: every rejected signal publishes a transition (it changes the staff part). Orders from
before it listed rejections in the customer's history and published none for one that only replaced the oldest
listed rejection; they replay with those transitions."""
UNKNOWN_SIGNALS_PATCH = "unknown-signals-recorded"
"""``workflow.patched`` id of the dynamic signal handler: a signal under a name the order has no handler for
(``estimat``) is recorded as rejected, with the valid names. Before it, such a signal was dropped."""

SIGNAL_PAYLOAD_CAP = 64 * 1024
"""Bytes of JSON one staff signal or deposit answer may carry; a bigger one is rejected before validation.

The largest payload staff or the bridge really send (an estimate or an
amendment for 200 items) is a few KiB. Without a cap, anyone able to signal
could make the workflow validate megabytes per signal and, through the
rejection's detail, push them into the order's state and read model. The
SDK has turned the JSON into Python values before any handler runs (and the
server keeps the signal in the run's history, bounded by its blob-size limit
and by continuing as new); the cap keeps it out of everything the order owns.
The size is that of the values re-encoded as compact JSON, the same on replay.
"""
REJECTED_SIGNALS_KEPT = 20
"""Rejected signals listed in the order's history; older ones are only counted (``Order.record_rejected_signal``)."""
REJECTION_DETAIL_CAP = 500
"""Characters of one rejection's detail: a validation error list can be as long as the payload it describes."""


@workflow.defn(name=WORKFLOW_NAME)
class OrderWorkflow(StaffHandlers):
    """The single durable source of truth of one order (docs/rules.md)."""

    @workflow.init
    def __init__(self, start: OrderApplication | CarriedOver) -> None:
        """A fresh application opens the order; a carried-over state (after continue-as-new) resumes it."""
        if isinstance(start, CarriedOver):
            self._order = start.order
            self._runs_before = start.runs_before
        else:
            self._order = Order.open(start, workflow.now())
            self._runs_before = 0
        self._version = self._order.version
        self._recorded_version = self._order.version  # a run continues only once everything is recorded
        self._unrecorded: list[OrderTransition] = []
        self._bounded_history = False  # set by run(): workflow.patched records a command, __init__ must not
        self._lean_transitions = False  # likewise (LEAN_TRANSITIONS_PATCH)
        given = workflow.info().typed_search_attributes
        self._attributes: dict[str, Any] = {
            key.name: given.get(key) for key in (CUSTOMER_ID, ORDER_STATUS, SERVICE_TYPE, NEXT_DEADLINE)
        }

    @workflow.run
    async def run(self, start: OrderApplication | CarriedOver) -> OrderView:
        self._bounded_history = workflow.patched(CONTINUE_AS_NEW_PATCH)
        self._lean_transitions = workflow.patched(LEAN_TRANSITIONS_PATCH)
        if isinstance(start, CarriedOver):
            workflow.set_current_details(_details(self._order))  # nothing happened: nothing to publish
        else:
            # An update that came with the start can have run first: only an order still waiting needs the clock.
            if workflow.patched(ESTIMATE_DEADLINE_PATCH) and self._order.status is OrderStatus.APPLIED:
                deadlines.start_estimate_deadline(self._order, workflow.now())
            self._publish()  # order.applied
        while True:
            await self._record_transitions()
            if self._finished():
                return self._order.view()
            if self._history_full():
                await self._until_quiet()
                if self._finished():
                    return self._order.view()
                workflow.continue_as_new(
                    CarriedOver(order=self._order, runs_before=self._runs_before + 1),
                    search_attributes=workflow.info().typed_search_attributes,
                )
            await self._sleep_until_alarm_or_change()

    # ------------------------------------------------------------------ the customer (orders service)

    @workflow.query(name=VIEW_QUERY, description=VIEW_DESCRIPTION)
    def view(self) -> OrderView:
        return self._order.view()

    @workflow.query(name=STAFF_PART_QUERY, description="STAFF: internal notes, rejected signals and staff alerts.")
    def staff_part(self) -> StaffPart:
        return self._order.staff_part()

    @workflow.update(name="pay_billing", description=CUSTOMER_DESCRIPTIONS["pay_billing"])
    async def pay_billing(self, request: PayBillingRequest) -> OrderView:
        return await self._operate(payment.pay_billing, request, CUSTOMER)

    @pay_billing.validator
    def _may_pay_billing(self, request: PayBillingRequest) -> None:
        self._check(payment.pay_billing, request, CUSTOMER)

    @workflow.update(name="cancel", description=CUSTOMER_DESCRIPTIONS["cancel"])
    async def cancel(self, request: CustomerCancelRequest) -> OrderView:
        return await self._operate(cancellation.customer_cancel, request, CUSTOMER)

    @cancel.validator
    def _may_cancel(self, request: CustomerCancelRequest) -> None:
        self._check(cancellation.customer_cancel, request, CUSTOMER)

    @workflow.update(name="report_reception", description=CUSTOMER_DESCRIPTIONS["report_reception"])
    async def report_reception(self, request: ReceptionReportRequest) -> OrderView:
        return await self._operate(fulfilment.report_reception, request, CUSTOMER)

    @report_reception.validator
    def _may_report_reception(self, request: ReceptionReportRequest) -> None:
        self._check(fulfilment.report_reception, request, CUSTOMER)

    @workflow.update(name="add_tracking", description=CUSTOMER_DESCRIPTIONS["add_tracking"])
    async def add_tracking(self, request: AddTrackingRequest) -> OrderView:
        return await self._operate(tracking.add_tracking, request, CUSTOMER)

    @add_tracking.validator
    def _may_add_tracking(self, request: AddTrackingRequest) -> None:
        self._check(tracking.add_tracking, request, CUSTOMER)

    # ------------------------------------------------------------------ signals under no known name

    @workflow.signal(dynamic=True, description="Any other signal name: recorded as rejected, with the valid names.")
    async def unknown_signal(self, name: str, payloads: Sequence[RawValue]) -> None:
        """A mistyped name (``estimat``) must not vanish: the Web UI and the CLI answer "succeeded" regardless."""
        if name.startswith("__") or not workflow.patched(UNKNOWN_SIGNALS_PATCH):
            return  # Temporal's own names; or an order from before this handler, where it was dropped
        valid = ", ".join((*STAFF_OPERATIONS, DEPOSIT_EVENT_SIGNAL))
        self._record_rejected_signal(
            name[:100],
            Refusal.UNKNOWN_SIGNAL.value,
            f"no signal is named {name[:100]!r}; valid names: {valid}",
            "staff",
        )
        await self._until_recorded()

    # ------------------------------------------------------------------ the deposit's answers

    @workflow.signal(name=DEPOSIT_EVENT_SIGNAL, description=DEPOSIT_EVENT_DESCRIPTION)
    async def deposit_event(self, *payloads: Any) -> None:
        event = self._decode(DEPOSIT_EVENT_SIGNAL, DepositEvent, payloads, DEPOSITS)
        if event is None:
            return
        if workflow.patched(LEDGER_ATTESTED_PATCH):
            doubt = await self._ledger_doubts(event)
            if doubt is not None:
                self._record_rejected_signal(DEPOSIT_EVENT_SIGNAL, Refusal.NOT_FROM_THE_LEDGER.value, doubt, DEPOSITS)
                await self._until_recorded()
                return
        rule = payment.deposit_answer if workflow.patched(BOUNDED_SIGNALS_PATCH) else payment.deposit_result
        await self._signalled(DEPOSIT_EVENT_SIGNAL, rule, event, DEPOSITS)

    async def _ledger_doubts(self, event: DepositEvent) -> str | None:
        """Why this answer is not a money fact the ledger vouches for, or None when it is (or moves no money).

        Whoever sent it (the bridge, a Kafka producer, the Web UI, the CLI), a
        charge or refund counts only with the ledger's signature over exactly
        this customer, order, key, amount and transfer.
        """
        claim = ledger_claim(self._order, event)
        if claim is None or isinstance(claim, str):
            return claim
        signed = await workflow.execute_local_activity(
            VERIFY_LEDGER_ATTESTATION, claim, result_type=bool, start_to_close_timeout=VERIFY_TIMEOUT
        )
        return None if signed else f"{event.type} {event.event_id}: the ledger's signature does not verify"

    # ------------------------------------------------------------------ staff (handlers in StaffHandlers)

    async def _staff_signal(self, operation: StaffOperation, payloads: tuple[Any, ...]) -> None:
        request = self._decode(operation.name, operation.request, payloads, "staff")
        if request is not None:
            await self._signalled(operation.name, operation.rule, request, _staff_actor(request))

    async def _staff_update(self, operation: StaffOperation, request: StaffRequest) -> OrderView:
        return await self._operate(operation.rule, request, _staff_actor(request))

    def _staff_check(self, operation: StaffOperation, request: StaffRequest) -> None:
        self._check(operation.rule, request, _staff_actor(request))

    # ------------------------------------------------------------------ applying rules

    def _check(self, rule: Rule, request: Any, actor: str) -> None:
        """Update validator: run the rule on a throwaway copy; a refusal rejects the update."""
        try:
            rule(self._order.model_copy(deep=True), request, workflow.now(), actor)
        except ValidationError as broken:
            refuse(Refusal.INVALID_REQUEST, _breaks_contract(broken))

    def _apply(self, rule: Rule, request: Any, actor: str) -> None:
        """Run the rule on a draft and keep it: all or nothing. Publishes if anything happened."""
        draft = self._order.model_copy(deep=True)
        happened_before = len(draft.history)
        rule(draft, request, workflow.now(), actor)
        self._order = draft
        if len(draft.history) > happened_before or draft.effects or draft.staff_changed:
            self._publish()

    async def _operate(self, rule: Rule, request: Any, actor: str) -> OrderView:
        """An update: apply, wait until the transition is recorded, answer with the view."""
        self._apply(rule, request, actor)
        await self._until_recorded()
        return self._order.view()

    async def _signalled(self, signal: str, rule: Rule, request: Any, actor: str) -> None:
        """A signal cannot answer: a refusal is recorded in the order's history instead."""
        try:
            self._apply(rule, request, actor)
        except ApplicationError as refusal:
            self._record_rejected_signal(signal, refusal.type or "Refused", refusal.message, actor)
        except ValidationError as broken:
            self._record_rejected_signal(signal, Refusal.INVALID_REQUEST.value, _breaks_contract(broken), actor)
        await self._until_recorded()

    def _decode(self, signal: str, model: type[_M], payloads: tuple[Any, ...], actor: str) -> _M | None:
        """The signal's one JSON payload as its model, or None after recording why it is not one."""
        if workflow.patched(BOUNDED_SIGNALS_PATCH):
            size = sum(len(to_json(payload, fallback=repr)) for payload in payloads)
            if size > SIGNAL_PAYLOAD_CAP:
                reason = f"{size:,} bytes of JSON, over the {SIGNAL_PAYLOAD_CAP:,}-byte cap; not validated"
                self._record_rejected_signal(signal, Refusal.PAYLOAD_TOO_LARGE.value, reason, actor)
                return None
        if len(payloads) == 1:
            try:
                return model.model_validate(payloads[0])
            except ValidationError as invalid:
                reason = "; ".join(
                    f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
                    for error in invalid.errors()
                )
        else:
            reason = f"expected one JSON object, got {len(payloads)} input(s)"
        sent = to_json(payloads[0] if len(payloads) == 1 else list(payloads), fallback=repr)[:300].decode(
            errors="replace"
        )
        self._record_rejected_signal(signal, Refusal.MALFORMED_PAYLOAD.value, f"{reason}; payload: {sent}", actor)
        return None

    def _record_rejected_signal(self, signal: str, refusal: str, message: str, actor: str) -> None:
        """In the staff part only: the customer's history shows nothing of staff's (or a system's) mistakes."""
        bounded = workflow.patched(BOUNDED_SIGNALS_PATCH)
        detail = _shortened(message) if bounded else message
        staff_part = workflow.patched(STAFF_PART_PATCH)

        def note(order: Order, _: None, now: datetime, who: str) -> None:
            keep = REJECTED_SIGNALS_KEPT if bounded else None
            order.record_rejected_signal(now, who, signal, refusal, detail, keep=keep, publish_when_full=staff_part)

        self._apply(note, None, actor)

    # ------------------------------------------------------------------ transitions

    def _publish(self) -> None:
        """Turn what just happened into the next transition: a versioned view plus its messages."""
        order = self._order
        self._version += 1
        order.version = self._version
        now = workflow.now()
        messages = [
            OutgoingMessage(
                topic=effect.topic,
                key=effect.key,
                event_id=str(workflow.uuid4()),
                type=effect.type,
                data=effect.data,
                time=now,
            )
            for effect in order.effects
        ]
        order.effects = []
        order.staff_changed = False
        self._unrecorded.append(
            OrderTransition(
                order_id=order.order_id,
                customer_id=order.customer_id,
                version=order.version,
                view=order.view(),
                staff=order.staff_part(),
                messages=messages,
                trace_context=caller(),
            )
        )
        if not self._lean_transitions:
            self._upsert_search_attributes()  # before LEAN_TRANSITIONS_PATCH: one upsert per changing publish
        workflow.set_current_details(_details(order))

    async def _record_transitions(self) -> None:
        """Record transitions one at a time, in version order (only the main loop calls this)."""
        if self._unrecorded and self._lean_transitions:
            self._upsert_search_attributes()  # once for all the transitions of this workflow task
        while self._unrecorded:
            transition = self._unrecorded[0]
            what = ", ".join(m.type for m in transition.messages) or (
                transition.view.history[-1].action if transition.view.history else "staff part"
            )
            if self._lean_transitions:
                await workflow.execute_local_activity(
                    RECORD_TRANSITION,
                    transition,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                    summary=f"v{transition.version}: {what}",
                )
            else:
                await workflow.execute_activity(
                    RECORD_TRANSITION,
                    transition,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                    summary=f"v{transition.version}: {what}",
                )
            self._unrecorded.pop(0)
            self._recorded_version = transition.version

    async def _until_recorded(self) -> None:
        version = self._version
        await workflow.wait_condition(lambda: self._recorded_version >= version)

    async def _until_quiet(self) -> None:
        """Before continuing as new: every transition recorded and every handler finished.

        A handler waits for the main loop to record its transition, so this
        records while it waits; what is left to carry over is then only state.
        """
        while True:
            await self._record_transitions()
            if not self._unrecorded and workflow.all_handlers_finished():
                return
            await workflow.wait_condition(lambda: bool(self._unrecorded) or workflow.all_handlers_finished())

    def _history_full(self) -> bool:
        """Time to continue as new: the server suggests it, or the run's history reached the policy's bound."""
        if not self._bounded_history:
            return False
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._order.policy.history_events_per_run
        )

    def _finished(self) -> bool:
        """Closed, no money travelling, everything recorded, no handler still running."""
        return self._order.settled and not self._unrecorded and workflow.all_handlers_finished()

    # ------------------------------------------------------------------ the clock (updatable timer)

    async def _sleep_until_alarm_or_change(self) -> None:
        """Sleep until the next reminder or deadline, waking early when anything moves it."""
        alarm = deadlines.next_alarm(self._order)

        def changed() -> bool:
            return (
                bool(self._unrecorded)
                or deadlines.next_alarm(self._order) != alarm
                or self._finished()
                or self._history_full()  # signals that change nothing still grow the history
            )

        if alarm is None:
            await workflow.wait_condition(changed)
            return
        delay = alarm - workflow.now()
        if delay > timedelta(0):
            try:
                await workflow.wait_condition(changed, timeout=delay, timeout_summary=_alarm_summary(self._order))
                return
            except TimeoutError:
                pass
        self._apply(deadlines.clock_tick, None, SYSTEM)

    def _upsert_search_attributes(self) -> None:
        order = self._order
        updates: list[SearchAttributeUpdate[Any]] = []
        updates += self._attribute(CUSTOMER_ID, order.customer_id)
        updates += self._attribute(ORDER_STATUS, order.status.value)
        updates += self._attribute(SERVICE_TYPE, order.service_type.value)
        updates += self._attribute(NEXT_DEADLINE, order.next_deadline())
        if updates:
            workflow.upsert_search_attributes(updates)

    def _attribute(self, key: SearchAttributeKey[Any], value: object) -> list[SearchAttributeUpdate[Any]]:
        if self._attributes.get(key.name) == value:
            return []
        self._attributes[key.name] = value
        return [key.value_set(value) if value is not None else key.value_unset()]


def _breaks_contract(broken: ValidationError) -> str:
    """Why a rule was refused although its request was well-formed: an event it would publish breaks its
    contract (``contracts``), e.g. an amount beyond what a JSON number holds exactly."""
    first = broken.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or broken.title
    return f"an event it would publish breaks its contract: {where}: {first['msg']}"


def _shortened(detail: str) -> str:
    """A rejection's detail as the history keeps it: at most ``REJECTION_DETAIL_CAP`` characters."""
    return detail if len(detail) <= REJECTION_DETAIL_CAP else detail[: REJECTION_DETAIL_CAP - 1] + "…"


def _staff_actor(request: StaffRequest) -> str:
    return f"staff:{request.actor}" if request.actor else "staff"


def _alarm_summary(order: Order) -> str:
    upcoming = min(order.deadlines, key=lambda d: d.due_at, default=None)
    return f"{upcoming.kind.value} deadline ({upcoming.rule})" if upcoming else "order clock"


def _details(order: Order) -> str:
    """What the Web UI shows as the order's current details."""
    lines = [f"Status: {order.status.value}"]
    lines += [f"Deadline {d.rule} {d.kind.value}: {d.due_at.isoformat()}" for d in order.deadlines]
    lines += [
        f"Customer to do: {op.operation.value}" + (f" {op.amount} yen" if op.amount is not None else "")
        for op in order.pending_operations()
    ]
    return "\n".join(lines)
