"""Request and response bodies of the deposits API, with the examples the OpenAPI page shows.

Money is ``StrictInt`` yen: 12.5, "100", true, 0 and negatives are a 422 naming
the field, never rounded or coerced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictInt, TypeAdapter, field_validator, model_validator

from services.deposits import domain
from services.deposits.db import PayInReport, PayPalOrder, Withdrawal
from services.deposits.domain import AccountType, ReportStatus, TransferKind, WithdrawalMethod, WithdrawalStatus
from services.deposits.ledger.domain import Phase
from services.deposits.ledger.queries import HistoryEntry
from services.deposits.ledger.repository import Deposit

MAX_AMOUNT = 10_000_000  # one movement above ten million yen is a typing mistake, not a pay-in

Yen = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Integer yen, at least 1", examples=[5000])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencyBankAccount(BaseModel):
    """Where a bank-transfer pay-in goes, and how the agency tells whose it is (the reference)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bank_name": "Daiko Development Bank",
                    "branch": "Head Office (001)",
                    "account_type": "ordinary",
                    "account_number": "1234567",
                    "account_holder": "DAIKO AGENCY",
                    "swift": None,
                    "reference": "cust-42",
                }
            ]
        }
    )

    bank_name: str
    branch: str
    account_type: str
    account_number: str
    account_holder: str
    swift: str | None = None
    reference: str = Field(description="Put this in the transfer's name or message so staff can match it to you")


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
                    "failure": None,
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
    failure: str | None = Field(
        default=None,
        description="Why the last attempt did not credit: INSTRUMENT_DECLINED (approve again with another card), "
        "AMOUNT_MISMATCH or CURRENCY_MISMATCH",
    )
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
            failure=o.failure,
            created_at=o.created_at,
        )


class PayPalCaptureOut(BaseModel):
    order: PayPalOrderOut
    deposit: DepositOut


class WebhookAck(BaseModel):
    status: str = Field(examples=["credited"], description="credited, recorded, ignored or unknown-order")


class AuditedDeposit(BaseModel):
    """One customer's deposit recomputed from their transfers alone."""

    customer_id: str
    credits: int = Field(description="Everything credited (pay-ins, refunds)")
    debits: int = Field(description="Everything debited and posted (charges, paid withdrawals)")
    held: int = Field(description="Withdrawal requests still pending")
    balance: int = Field(description="credits minus debits")
    available: int = Field(description="balance minus held")


class AuditOut(BaseModel):
    """The ledger's self-check. Without ``customer_id``: every account, Σ over all of them. With it: that
    customer's transfers, Σ over both sides of each (debits still equal credits), and their deposit."""

    ok: bool
    accounts: int
    transfers: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balanced: bool = Field(description="Σ debits = Σ credits (posted and pending): double entry sums to zero")
    deposit: AuditedDeposit | None = Field(default=None, description="Set when audited for one customer")
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


class IbanAccountIn(Strict):
    """A bank account abroad. The IBAN's check digits and its country's format, and the BIC, are checked
    (``schwifty``); the BIC may be left out when the IBAN's bank code names it."""

    iban: Annotated[str, Field(max_length=42, examples=["DE89 3704 0044 0532 0130 00"])]
    bic: Annotated[str, Field(max_length=11, description="BIC/SWIFT code, 8 or 11 characters")] | None = Field(
        default=None, examples=["COBADEFFXXX"]
    )
    holder_name: Annotated[str, Field(max_length=100, examples=["Erika Mustermann"])]

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        return domain.clean_iban(value)[0]

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        return domain.clean_bic(value) if value else None

    @field_validator("holder_name")
    @classmethod
    def _holder(cls, value: str) -> str:
        return domain.clean_text(value, what="account holder name", max_length=100)

    @model_validator(mode="after")
    def _bank_of_the_iban(self) -> IbanAccountIn:
        """The BIC given, or the one the IBAN's bank code implies; of the IBAN's country either way."""
        account = domain.IbanAccount.parse(iban=self.iban, bic=self.bic, holder_name=self.holder_name)
        object.__setattr__(self, "bic", account.bic)
        return self

    def to_domain(self) -> domain.IbanAccount:
        return domain.IbanAccount(iban=self.iban, bic=self.bic or "", holder_name=self.holder_name)

    def __repr__(self) -> str:
        return repr(self.to_domain())


_WITHDRAWAL_TEXT = "The amount is held at once and paid out after staff confirm (or released if the customer cancels)."


class JapaneseBankWithdrawalIn(Strict):
    """To a Japanese bank account (Zengin: bank, branch, type, 7-digit number, holder)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": _WITHDRAWAL_TEXT,
            "examples": [
                {
                    "method": "japanese_bank",
                    "amount": 3000,
                    "bank_account": {
                        "bank_name": "三菱UFJ銀行",
                        "branch": "渋谷支店",
                        "account_type": "ordinary",
                        "account_number": "1234567",
                        "holder_name": "ヤマダ タロウ",
                    },
                }
            ],
        },
    )

    method: Literal["japanese_bank"]
    amount: Yen
    bank_account: BankAccountIn

    def destination(self) -> domain.BankAccount:
        return self.bank_account.to_domain()

    def __repr__(self) -> str:
        return f"JapaneseBankWithdrawalIn(amount={self.amount}, bank_account={self.bank_account!r})"


class IbanWithdrawalIn(Strict):
    """To a bank account abroad by international transfer (IBAN + BIC/SWIFT)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": _WITHDRAWAL_TEXT,
            "examples": [
                {
                    "method": "iban",
                    "amount": 20000,
                    "iban_account": {
                        "iban": "DE89 3704 0044 0532 0130 00",
                        "bic": "COBADEFFXXX",
                        "holder_name": "Erika Mustermann",
                    },
                }
            ],
        },
    )

    method: Literal["iban"]
    amount: Yen
    iban_account: IbanAccountIn

    def destination(self) -> domain.IbanAccount:
        return self.iban_account.to_domain()

    def __repr__(self) -> str:
        return f"IbanWithdrawalIn(amount={self.amount}, iban_account={self.iban_account!r})"


class PayPalWithdrawalIn(Strict):
    """To a PayPal account, by its e-mail address (a PayPal payout)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": _WITHDRAWAL_TEXT,
            "examples": [{"method": "paypal", "amount": 5000, "paypal_email": "yamada@example.com"}],
        },
    )

    method: Literal["paypal"]
    amount: Yen
    paypal_email: Annotated[EmailStr, Field(max_length=254, description="The PayPal account's e-mail address")]

    def destination(self) -> domain.PayPalAccount:
        return domain.PayPalAccount(email=str(self.paypal_email))

    def __repr__(self) -> str:
        return f"PayPalWithdrawalIn(amount={self.amount}, paypal={self.destination()!r})"


WithdrawalIn = Annotated[
    JapaneseBankWithdrawalIn | IbanWithdrawalIn | PayPalWithdrawalIn, Field(discriminator="method")
]
"""A withdrawal request: ``method`` says which destination the body carries."""

WITHDRAWAL_EXAMPLES: dict[str, dict[str, Any]] = {
    model.__name__.removesuffix("WithdrawalIn"): {"value": model.model_json_schema()["examples"][0]}
    for model in (JapaneseBankWithdrawalIn, IbanWithdrawalIn, PayPalWithdrawalIn)
}
"""One example per destination, each body model's own: the union's media type shows them side by side."""


class MaskedBankAccount(BaseModel):
    bank_name: str
    branch: str
    account_type: AccountType
    account_number: str = Field(examples=["****4567"])
    holder_name: str = Field(examples=["ヤ***"])


class MaskedJapaneseBank(MaskedBankAccount):
    method: Literal["japanese_bank"] = "japanese_bank"


class MaskedIban(BaseModel):
    method: Literal["iban"] = "iban"
    iban: str = Field(examples=["DE******3000"])
    bic: str = Field(examples=["COBADEFFXXX"])
    country: str = Field(examples=["DE"])
    holder_name: str = Field(examples=["E***"])


class MaskedPayPal(BaseModel):
    method: Literal["paypal"] = "paypal"
    email: str = Field(examples=["y***@example.com"])


MaskedDestination = Annotated[MaskedJapaneseBank | MaskedIban | MaskedPayPal, Field(discriminator="method")]


class IbanAccountOut(BaseModel):
    method: Literal["iban"] = "iban"
    iban: str
    bic: str
    holder_name: str


class PayPalAccountOut(BaseModel):
    method: Literal["paypal"] = "paypal"
    email: str


class JapaneseBankOut(BankAccountIn):
    method: Literal["japanese_bank"] = "japanese_bank"


class WithdrawalDestinationOut(BaseModel):
    """Where to pay a withdrawal, in clear: for staff paying it out, never in a customer's answer."""

    withdrawal_id: str
    amount: int
    status: WithdrawalStatus
    destination: Annotated[JapaneseBankOut | IbanAccountOut | PayPalAccountOut, Field(discriminator="method")]
    how_to_pay: str = Field(description="What confirming it does for this method")

    @classmethod
    def of(cls, w: Withdrawal, destination: domain.Destination) -> WithdrawalDestinationOut:
        clear: JapaneseBankOut | IbanAccountOut | PayPalAccountOut
        if isinstance(destination, domain.IbanAccount):
            clear = IbanAccountOut(**destination.sealed_fields())
            how = "Send an international transfer to this IBAN and BIC, then confirm it as paid out."
        elif isinstance(destination, domain.PayPalAccount):
            clear = PayPalAccountOut(**destination.sealed_fields())
            how = "Confirming sends the payout through PayPal to this account (nothing to do at a bank)."
        else:
            clear = JapaneseBankOut.model_validate(destination.sealed_fields())
            how = "Transfer to this account from the agency's bank, then confirm it as paid out."
        return cls(
            withdrawal_id=w.id, amount=w.amount, status=WithdrawalStatus(w.status), destination=clear, how_to_pay=how
        )


class WithdrawalOut(BaseModel):
    id: str
    customer_id: str
    amount: int
    status: WithdrawalStatus
    method: WithdrawalMethod
    destination: MaskedDestination
    bank_account: MaskedBankAccount | None = Field(description="The destination of a japanese_bank withdrawal")
    payout_reference: str | None = Field(description="PayPal's payout batch id, once a PayPal withdrawal is paid")
    staff_note: str | None
    reject_reason: str | None
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, w: Withdrawal) -> WithdrawalOut:
        masked = {"method": w.method, **w.destination}
        destination = _MASKED.validate_python(masked)
        return cls(
            id=w.id,
            customer_id=w.customer_id,
            amount=w.amount,
            status=WithdrawalStatus(w.status),
            method=WithdrawalMethod(w.method),
            destination=destination,
            bank_account=(
                MaskedBankAccount.model_validate(destination.model_dump(exclude={"method"}))
                if isinstance(destination, MaskedJapaneseBank)
                else None
            ),
            payout_reference=w.payout_reference,
            staff_note=w.staff_note,
            reject_reason=w.reject_reason,
            decided_at=w.decided_at,
            created_at=w.created_at,
        )


_MASKED: TypeAdapter[MaskedJapaneseBank | MaskedIban | MaskedPayPal] = TypeAdapter(MaskedDestination)


class WithdrawalResult(BaseModel):
    withdrawal: WithdrawalOut
    deposit: DepositOut


class ConfirmWithdrawalIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "paid 2026-11-27, ref 8812"}]})

    note: Annotated[str, Field(max_length=1000)] | None = None
