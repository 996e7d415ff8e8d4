"""The deposit's two topics: commands from orders in, money movements out.

``daiko.deposits.commands.v1`` carries the order workflow's requests to charge a
billing or refund part of an order; ``daiko.deposits.events.v1`` carries every
movement of a customer's deposit: the answers to those commands, pay-ins
credited, withdrawals. Both are keyed and ``subject``-ed by the customer id, so
one customer's money moves in order. Every event ends with the deposit after
the movement (``balance``, ``held``, ``available``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, StrictBool, StrictStr, model_validator

from contracts.base import Contract, Part
from contracts.ids import (
    BillingSeq,
    CustomerId,
    EventId,
    IsoMoment,
    OrderId,
    PayInReportId,
    PositiveYen,
    Revision,
    Text,
    TransferId,
    WithdrawalId,
    Yen,
)
from contracts.keys import ChargeKey, RefundKey

LedgerKey = Annotated[StrictStr, Field(min_length=1, max_length=200, description="The ledger's idempotency key.")]
Reason = Annotated[StrictStr, Field(max_length=1000)]
Attestation = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The ledger's Ed25519 signature (URL-safe base64) over the statement of "
        "contracts.attestation.ledger_statement: what makes this money fact believable.",
    ),
]

# --------------------------------------------------------------------------- commands


class ChargeRequested(Contract):
    type: ClassVar[str] = "deposit.charge_requested"
    summary: ClassVar[str] = (
        "Billing: charge this billing of an order to the customer's deposit (R9); answered by "
        "deposit.charged or deposit.charge_rejected."
    )
    order_id: OrderId
    customer_id: CustomerId
    billing_seq: BillingSeq
    revision: Revision
    amount: PositiveYen
    idempotency_key: ChargeKey
    description: Text = ""

    @model_validator(mode="after")
    def _key_names_this_billing(self) -> Self:
        if self.idempotency_key != ChargeKey(self.order_id, self.billing_seq, self.revision):
            raise ValueError(f"idempotency_key {self.idempotency_key} does not name this order's billing")
        return self


class RefundRequested(Contract):
    type: ClassVar[str] = "deposit.refund_requested"
    summary: ClassVar[str] = (
        "Give part of what an order was charged back to the customer's deposit; answered by deposit.refunded "
        "or deposit.refund_rejected."
    )
    order_id: OrderId
    customer_id: CustomerId
    amount: PositiveYen
    idempotency_key: RefundKey
    reason: Reason = ""

    @model_validator(mode="after")
    def _key_names_this_order(self) -> Self:
        if self.idempotency_key.order_id != self.order_id:
            raise ValueError(f"idempotency_key {self.idempotency_key} is not a refund of order {self.order_id}")
        return self


DEPOSIT_COMMANDS: tuple[type[Contract], ...] = (ChargeRequested, RefundRequested)

# --------------------------------------------------------------------------- events


class DepositMovement(Contract):
    """Fields every deposit event has: whose deposit, and the deposit after the movement (at the end)."""

    customer_id: CustomerId


# An answer refusing a command names why (``rejection``). An ``invalid-command`` answer echoes only the
# fields of the command that were valid, with the errors and the command's id.
Rejection = Literal[
    "insufficient-funds",
    "idempotency-key-conflict",
    "invalid-command",
    "order-charged-to-another-customer",
    "exceeds-amount-charged",
]


class Charged(DepositMovement):
    type: ClassVar[str] = "deposit.charged"
    summary: ClassVar[str] = (
        "A billing was paid from the deposit (replayed: the same charge key answered again, no money moved twice)."
    )
    order_id: OrderId
    billing_seq: BillingSeq
    revision: Revision
    amount: PositiveYen
    idempotency_key: ChargeKey
    transfer_id: TransferId
    attestation: Attestation
    replayed: StrictBool
    charged_at: IsoMoment | None
    balance: Yen
    held: Yen
    available: Yen


class ChargeRejected(DepositMovement):
    type: ClassVar[str] = "deposit.charge_rejected"
    summary: ClassVar[str] = (
        "The deposit could not pay a billing: not enough available (shortfall), a reused key, or an invalid command."
    )
    order_id: OrderId | None = None
    billing_seq: BillingSeq | None = None
    revision: Revision | None = None
    amount: Yen | None = None
    idempotency_key: ChargeKey | None = None
    rejection: Rejection
    detail: Text | None = None
    errors: list[Text] | None = None
    command_id: EventId | None = None
    shortfall: Yen
    balance: Yen
    held: Yen
    available: Yen


class Refunded(DepositMovement):
    type: ClassVar[str] = "deposit.refunded"
    summary: ClassVar[str] = "Money went back from an order to the customer's deposit."
    order_id: OrderId
    amount: PositiveYen
    idempotency_key: RefundKey
    reason: Reason
    transfer_id: TransferId
    attestation: Attestation
    replayed: StrictBool
    balance: Yen
    held: Yen
    available: Yen


class RefundRejected(DepositMovement):
    type: ClassVar[str] = "deposit.refund_rejected"
    summary: ClassVar[str] = (
        "A refund was refused: more than the order was charged (refundable), another customer's order, a reused "
        "key, or an invalid command; staff must look."
    )
    order_id: OrderId | None = None
    amount: Yen | None = None
    idempotency_key: RefundKey | None = None
    reason: Reason | None = None
    rejection: Rejection
    detail: Text | None = None
    errors: list[Text] | None = None
    command_id: EventId | None = None
    refundable: Yen | None = None
    shortfall: Yen | None = None
    balance: Yen
    held: Yen
    available: Yen


class Credited(DepositMovement):
    type: ClassVar[str] = "deposit.credited"
    summary: ClassVar[str] = (
        "A pay-in reached the deposit: a bank transfer staff matched to the customer's pay-in report, or a "
        "PayPal capture."
    )
    method: Literal["bank_transfer", "paypal"]
    amount: Yen
    pay_in_report_id: PayInReportId | None = None
    reported_amount: Yen | None = None
    paypal_order_id: StrictStr | None = None
    paypal_capture_id: StrictStr | None = None
    idempotency_key: LedgerKey
    transfer_id: TransferId
    balance: Yen
    held: Yen
    available: Yen


class MaskedBankAccount(Part):
    """Where a withdrawal goes, masked: enough for the customer to recognise it, not to use it."""

    bank_name: Text
    branch: Text
    account_type: StrictStr
    account_number: StrictStr
    holder_name: Text


class MaskedDestination(Part):
    """Where a withdrawal goes (any method), masked: ``method`` and the parts the customer recognises."""

    method: Literal["japanese_bank", "iban", "paypal"]
    label: Annotated[Text, Field(description="The masked destination as one line, e.g. 'IBAN DE******3000'.")]


class WithdrawalRequested(DepositMovement):
    type: ClassVar[str] = "deposit.withdrawal_requested"
    summary: ClassVar[str] = (
        "The customer asked to withdraw money to a Japanese bank account, an IBAN account or a PayPal account: "
        "the amount is held until staff decide or the customer cancels."
    )
    withdrawal_id: WithdrawalId
    amount: PositiveYen
    bank_account: MaskedBankAccount | None = Field(
        default=None, description="Set for a Japanese bank account (method japanese_bank) only."
    )
    destination: MaskedDestination | None = None
    idempotency_key: LedgerKey
    transfer_id: TransferId
    balance: Yen
    held: Yen
    available: Yen


class WithdrawalPaid(DepositMovement):
    type: ClassVar[str] = "deposit.withdrawal_paid"
    summary: ClassVar[str] = "Staff paid a withdrawal out: the held amount left the deposit."
    withdrawal_id: WithdrawalId
    amount: PositiveYen
    idempotency_key: LedgerKey
    transfer_id: TransferId
    balance: Yen
    held: Yen
    available: Yen


class WithdrawalRejected(DepositMovement):
    type: ClassVar[str] = "deposit.withdrawal_rejected"
    summary: ClassVar[str] = "Staff refused a withdrawal (reason): the held amount is available again."
    withdrawal_id: WithdrawalId
    amount: PositiveYen
    reason: Reason
    idempotency_key: LedgerKey
    transfer_id: TransferId
    balance: Yen
    held: Yen
    available: Yen


class WithdrawalCanceled(DepositMovement):
    type: ClassVar[str] = "deposit.withdrawal_canceled"
    summary: ClassVar[str] = "The customer canceled their pending withdrawal: the held amount is available again."
    withdrawal_id: WithdrawalId
    amount: PositiveYen
    idempotency_key: LedgerKey
    transfer_id: TransferId
    balance: Yen
    held: Yen
    available: Yen


DEPOSIT_EVENTS: tuple[type[Contract], ...] = (
    Charged,
    ChargeRejected,
    Refunded,
    RefundRejected,
    Credited,
    WithdrawalRequested,
    WithdrawalPaid,
    WithdrawalRejected,
    WithdrawalCanceled,
)
ORDER_ANSWERS: tuple[type[Contract], ...] = (Charged, ChargeRejected, Refunded, RefundRejected)
"""The events that answer an order's command: the orders bridge relays them to the order's workflow."""
