"""Request and response bodies of withdrawal requests; bank accounts go in whole and come out masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.deposits import domain
from services.deposits.db import Withdrawal
from services.deposits.domain import AccountType, WithdrawalStatus
from services.deposits.schemas import DepositOut, Strict, Yen


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
