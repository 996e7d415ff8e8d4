"""Request and response bodies of the deposits API, with the examples the OpenAPI page shows.

Money is ``StrictInt`` yen: 12.5, "100", true, 0 and negatives are a 422 naming
the field, never rounded or coerced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from services.deposits import domain
from services.deposits.db import PayInReport, PayPalOrder, Withdrawal
from services.deposits.domain import AccountType, ReportStatus, TransferKind, WithdrawalStatus
from services.deposits.ledger.domain import Phase
from services.deposits.ledger.queries import HistoryEntry
from services.deposits.ledger.repository import Deposit

MAX_AMOUNT = 10_000_000  # one movement above ten million yen is a typing mistake, not a pay-in

Yen = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Integer yen, at least 1", examples=[5000])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepositOut(BaseModel):
    """The deposit: ``available`` = ``balance`` minus ``held`` (held = withdrawal requests not yet paid)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_id": "cust-42", "currency": "JPY", "balance": 12000, "held": 3000, "available": 9000}
            ]
        }
    )

    customer_id: str
    currency: str = "JPY"
    balance: int
    held: int
    available: int

    @classmethod
    def of(cls, deposit: Deposit) -> DepositOut:
        return cls(
            customer_id=deposit.customer_id, balance=deposit.balance, held=deposit.held, available=deposit.available
        )


class TransactionOut(BaseModel):
    id: int = Field(description="Ledger order: a larger id happened later")
    kind: TransferKind
    phase: Phase
    amount: int = Field(description="Amount of the transfer (always positive)")
    balance_change: int = Field(description="Signed change of the balance for this customer")
    held_change: int = Field(description="Signed change of the held amount")
    balance_after: int
    held_after: int
    available_after: int
    order_id: str | None = None
    billing_seq: int | None = None
    revision: int | None = None
    reference: str | None = Field(default=None, description="Pay-in report, PayPal capture or withdrawal id")
    note: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, e: HistoryEntry) -> TransactionOut:
        t = e.transfer
        return cls(
            id=t.id,
            kind=TransferKind(t.kind),
            phase=Phase(t.phase),
            amount=t.amount,
            balance_change=e.balance_change,
            held_change=e.held_change,
            balance_after=t.balance_after,
            held_after=t.held_after,
            available_after=e.available_after,
            order_id=t.order_id,
            billing_seq=t.billing_seq,
            revision=t.revision,
            reference=t.reference,
            note=t.note,
            created_at=t.created_at,
        )


class TransactionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 812,
                            "kind": "charge",
                            "phase": "posted",
                            "amount": 4800,
                            "balance_change": -4800,
                            "held_change": 0,
                            "balance_after": 7200,
                            "held_after": 0,
                            "available_after": 7200,
                            "order_id": "ord-1001",
                            "billing_seq": 1,
                            "revision": 1,
                            "reference": None,
                            "note": None,
                            "created_at": "2026-11-26T10:00:00Z",
                        }
                    ],
                    "next_before": None,
                }
            ]
        }
    )

    items: list[TransactionOut]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page; null at the end")


# --- pay-in reports -----------------------------------------------------------------------------


class PayInReportIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount": 10000, "transfer_date": "2026-11-25", "sender_name": "ヤマダ タロウ", "note": "order 1001"}
            ]
        },
    )

    amount: Yen
    transfer_date: date
    sender_name: Annotated[str, Field(max_length=100, description="Name the bank shows as the sender")]
    note: Annotated[str, Field(max_length=1000)] | None = None

    @field_validator("sender_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return domain.clean_text(value, what="sender name", max_length=100)

    @field_validator("transfer_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > (datetime.now(UTC) + timedelta(hours=9)).date():  # Japan time: the agency's bank day
            raise ValueError("transfer date is in the future")
        return value


class PayInReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "pir_4f1c2a",
                    "customer_id": "cust-42",
                    "amount": 10000,
                    "transfer_date": "2026-11-25",
                    "sender_name": "ヤマダ タロウ",
                    "note": "order 1001",
                    "status": "pending",
                    "credited_amount": None,
                    "staff_note": None,
                    "reject_reason": None,
                    "decided_at": None,
                    "created_at": "2026-11-25T09:00:00Z",
                }
            ]
        }
    )

    id: str
    customer_id: str
    amount: int
    transfer_date: date
    sender_name: str
    note: str | None
    status: ReportStatus
    credited_amount: int | None
    staff_note: str | None
    reject_reason: str | None
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: PayInReport) -> PayInReportOut:
        return cls(
            id=r.id,
            customer_id=r.customer_id,
            amount=r.amount,
            transfer_date=r.transfer_date,
            sender_name=r.sender_name,
            note=r.note,
            status=ReportStatus(r.status),
            credited_amount=r.credited_amount,
            staff_note=r.staff_note,
            reject_reason=r.reject_reason,
            decided_at=r.decided_at,
            created_at=r.created_at,
        )


class ConfirmPayInReportIn(Strict):
    """Confirm with the amount that actually arrived; a different amount than reported needs a note."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount": 9560, "note": "bank fee of 440 yen deducted"}]}
    )

    amount: Yen | None = Field(default=None, description="Defaults to the reported amount")
    note: Annotated[str, Field(max_length=1000)] | None = None


class RejectIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "no such transfer arrived"}]})

    reason: Annotated[str, Field(min_length=1, max_length=1000)]

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return domain.clean_text(value, what="reason", max_length=1000)


class PayInReportDecision(BaseModel):
    report: PayInReportOut
    deposit: DepositOut


# --- PayPal -------------------------------------------------------------------------------------


class PayPalOrderIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": 5000}]})

    amount: Yen


class PayPalOrderOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5O190127TN364715T",
                    "status": "CREATED",
                    "amount": 5000,
                    "currency": "JPY",
                    "approve_url": "https://www.paypal.com/checkoutnow?token=5O190127TN364715T",
                    "capture_id": None,
                    "capture_status": None,
                    "credited": False,
                    "created_at": "2026-11-26T10:00:00Z",
                }
            ]
        }
    )

    id: str
    status: str
    amount: int
    currency: str
    approve_url: str = Field(description="Send the customer here to approve the payment at PayPal")
    capture_id: str | None
    capture_status: str | None
    credited: bool = Field(description="True once the capture is credited to the deposit")
    created_at: datetime

    @classmethod
    def of(cls, o: PayPalOrder) -> PayPalOrderOut:
        return cls(
            id=o.id,
            status=o.status,
            amount=o.amount,
            currency=o.currency,
            approve_url=o.approve_url,
            capture_id=o.capture_id,
            capture_status=o.capture_status,
            credited=o.transfer_id is not None,
            created_at=o.created_at,
        )


class PayPalCaptureOut(BaseModel):
    order: PayPalOrderOut
    deposit: DepositOut


class WebhookAck(BaseModel):
    status: str = Field(examples=["credited"], description="credited, recorded, ignored or unknown-order")


class AuditOut(BaseModel):
    ok: bool
    accounts: int
    transfers: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    mismatches: list[str]


# ====================================================================================================
# Request and response bodies of withdrawal requests; bank accounts go in whole and come out masked.
# ====================================================================================================


class BankAccountIn(Strict):
    bank_name: Annotated[str, Field(max_length=60, examples=["三菱UFJ銀行"])]
    branch: Annotated[str, Field(max_length=60, description="Branch name or 3-digit code", examples=["渋谷支店"])]
    account_type: AccountType
    account_number: Annotated[str, Field(max_length=20, description="7 digits", examples=["1234567"])]
    holder_name: Annotated[str, Field(max_length=100, examples=["ヤマダ タロウ"])]

    @field_validator("bank_name")
    @classmethod
    def _bank(cls, value: str) -> str:
        return domain.clean_text(value, what="bank name", max_length=60)

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        return domain.clean_branch(value)

    @field_validator("account_number")
    @classmethod
    def _number(cls, value: str) -> str:
        return domain.clean_account_number(value)

    @field_validator("holder_name")
    @classmethod
    def _holder(cls, value: str) -> str:
        return domain.clean_text(value, what="account holder name", max_length=100)

    def to_domain(self) -> domain.BankAccount:
        return domain.BankAccount(
            bank_name=self.bank_name,
            branch=self.branch,
            account_type=self.account_type,
            account_number=self.account_number,
            holder_name=self.holder_name,
        )

    def __repr__(self) -> str:  # never print the account number, even in a debugger or a log line
        return repr(self.to_domain())


class WithdrawalIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": 3000,
                    "bank_account": {
                        "bank_name": "三菱UFJ銀行",
                        "branch": "渋谷支店",
                        "account_type": "ordinary",
                        "account_number": "1234567",
                        "holder_name": "ヤマダ タロウ",
                    },
                }
            ]
        },
    )

    amount: Yen
    bank_account: BankAccountIn

    def __repr__(self) -> str:
        return f"WithdrawalIn(amount={self.amount}, bank_account={self.bank_account!r})"


class MaskedBankAccount(BaseModel):
    bank_name: str
    branch: str
    account_type: AccountType
    account_number: str = Field(examples=["****4567"])
    holder_name: str = Field(examples=["ヤ***"])


class WithdrawalOut(BaseModel):
    id: str
    customer_id: str
    amount: int
    status: WithdrawalStatus
    bank_account: MaskedBankAccount
    staff_note: str | None
    reject_reason: str | None
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, w: Withdrawal) -> WithdrawalOut:
        return cls(
            id=w.id,
            customer_id=w.customer_id,
            amount=w.amount,
            status=WithdrawalStatus(w.status),
            bank_account=MaskedBankAccount(
                bank_name=w.bank_name,
                branch=w.branch,
                account_type=AccountType(w.account_type),
                account_number=w.account_number_masked,
                holder_name=w.holder_name_masked,
            ),
            staff_note=w.staff_note,
            reject_reason=w.reject_reason,
            decided_at=w.decided_at,
            created_at=w.created_at,
        )


class WithdrawalResult(BaseModel):
    withdrawal: WithdrawalOut
    deposit: DepositOut


class ConfirmWithdrawalIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "paid 2026-11-27, ref 8812"}]})

    note: Annotated[str, Field(max_length=1000)] | None = None
