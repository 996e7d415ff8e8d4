"""Rules of the deposit around the ledger: pay-in reports, withdrawal requests, bank accounts.

Pure functions and values only (no I/O), so every rule has a plain unit test.
Each decision returns what must happen, and the service layer does it. A
refusal is a domain exception; ``services.deposits.app`` says its HTTP status.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from daiko.errors import DomainError, Unavailable


class DepositRuleError(DomainError):
    """A request the deposit refuses in the current state of a report or withdrawal; ``code`` names why."""

    code = "deposit-rule"


class ReportAlreadyRejected(DepositRuleError):
    code = "pay-in-report-rejected"


class ReportAlreadyConfirmed(DepositRuleError):
    code = "pay-in-report-confirmed"


class NoteRequired(DepositRuleError):
    """Crediting another amount than reported needs a note: a rule on the input, not on the state."""

    code = "note-required"


class WithdrawalAlreadyPaid(DepositRuleError):
    code = "withdrawal-paid"


class WithdrawalAlreadyRejected(DepositRuleError):
    code = "withdrawal-rejected"


class WithdrawalAlreadyCanceled(DepositRuleError):
    code = "withdrawal-canceled"


class WithdrawalNotPending(DepositRuleError):
    """The customer may cancel only a request staff have not decided yet."""

    code = "withdrawal-not-pending"


# --- PayPal's answers, in our words ------------------------------------------------------------


class PayPalDown(Unavailable):
    """PayPal cannot be reached or answered 5xx; the same request may be sent again."""

    code = "paypal-unavailable"


class PayPalRefused(DomainError):
    """PayPal refused the call (an answer we cannot act on); ``issue`` is PayPal's own name for it."""

    code = "paypal-error"


class CardDeclined(DomainError):
    """The buyer's card was declined: approve again with another card (``approve_url``)."""

    code = "paypal-instrument-declined"


class PayPalOrderNotApproved(DomainError):
    """Capture asked before the buyer approved the PayPal order."""

    code = "paypal-order-not-approved"


class PayPalOrderTaken(DomainError):
    """PayPal returned an order id we already hold for another customer."""

    code = "paypal-order-conflict"


class ReportStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class WithdrawalStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    REJECTED = "rejected"
    CANCELED = "canceled"  # by the customer, while it was pending


class WithdrawalMethod(StrEnum):
    """How a withdrawal is paid out: a Japanese bank account (Zengin), an IBAN account abroad, or PayPal."""

    JAPANESE_BANK = "japanese_bank"
    IBAN = "iban"
    PAYPAL = "paypal"


class Decision(StrEnum):
    APPLY = "apply"  # do it: move money, change status, emit the event
    ALREADY_DONE = "already_done"  # the same decision was taken before: answer as then, change nothing


@dataclass(frozen=True)
class Confirmation:
    decision: Decision
    amount: int


def confirm_pay_in_report(
    status: ReportStatus, *, reported: int, credited: int | None, amount: int | None, note: str | None
) -> Confirmation:
    """Staff confirm what reached the bank, which may differ from the report (then a note says why).

    Confirming twice credits once: a repeat with the same (or no) amount is
    answered as before; a repeat with another amount is a conflict, since the
    first confirmation already moved money.
    """
    if status is ReportStatus.REJECTED:
        raise ReportAlreadyRejected("this pay-in report was rejected; it cannot be confirmed")
    if status is ReportStatus.CONFIRMED:
        if amount is not None and amount != credited:
            raise ReportAlreadyConfirmed(f"this pay-in report was already confirmed with {credited} yen")
        return Confirmation(Decision.ALREADY_DONE, credited or 0)
    credit = reported if amount is None else amount
    if credit != reported and not (note and note.strip()):
        raise NoteRequired(f"crediting {credit} yen for a report of {reported} yen needs a note saying why")
    return Confirmation(Decision.APPLY, credit)


def reject_pay_in_report(status: ReportStatus) -> Decision:
    if status is ReportStatus.CONFIRMED:
        raise ReportAlreadyConfirmed("this pay-in report was confirmed and credited; it cannot be rejected")
    return Decision.ALREADY_DONE if status is ReportStatus.REJECTED else Decision.APPLY


def confirm_withdrawal(status: WithdrawalStatus) -> Decision:
    """Paid out: the hold is posted to payouts, once."""
    if status is WithdrawalStatus.REJECTED:
        raise WithdrawalAlreadyRejected("this withdrawal request was rejected; it cannot be paid")
    if status is WithdrawalStatus.CANCELED:
        raise WithdrawalAlreadyCanceled("the customer canceled this withdrawal request; it cannot be paid")
    return Decision.ALREADY_DONE if status is WithdrawalStatus.PAID else Decision.APPLY


def reject_withdrawal(status: WithdrawalStatus) -> Decision:
    """Rejected: the hold is voided and the money is available again, once."""
    if status is WithdrawalStatus.PAID:
        raise WithdrawalAlreadyPaid("this withdrawal request was already paid out; it cannot be rejected")
    if status is WithdrawalStatus.CANCELED:
        raise WithdrawalAlreadyCanceled("the customer canceled this withdrawal request; there is nothing to reject")
    return Decision.ALREADY_DONE if status is WithdrawalStatus.REJECTED else Decision.APPLY


def cancel_withdrawal(status: WithdrawalStatus) -> Decision:
    """The customer withdraws their own request: only while staff have not decided it.

    A cancel repeated with the same ``Idempotency-Key`` is a replay (the first
    answer); a second, new cancel finds the request canceled and is a 409 like
    a cancel after payout: the customer learns the request is no longer pending.
    """
    if status is WithdrawalStatus.PENDING:
        return Decision.APPLY
    raise WithdrawalNotPending(
        f"this withdrawal request is {status.value}; only a pending request can be canceled",
        withdrawal_status=status.value,
    )


# --- bank accounts -----------------------------------------------------------------------------


class AccountType(StrEnum):
    """Japanese deposit types: 普通 (ordinary), 当座 (current), 貯蓄 (savings)."""

    ORDINARY = "ordinary"
    CURRENT = "current"
    SAVINGS = "savings"


ACCOUNT_NUMBER = re.compile(r"[0-9]{7}")  # Zengin format: seven digits, zero-padded
BRANCH_CODE = re.compile(r"[0-9]{3}")


def clean_text(value: str, *, what: str, max_length: int) -> str:
    """Names as typed, normalised (NFKC: full-width digits and half-width kana become standard)."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise ValueError(f"{what} must not be empty")
    if len(text) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValueError(f"{what} must not contain control characters")
    return text


def clean_account_number(value: str) -> str:
    digits = unicodedata.normalize("NFKC", value).strip().replace("-", "").replace(" ", "")
    if not ACCOUNT_NUMBER.fullmatch(digits):
        raise ValueError("account number must be exactly 7 digits")
    return digits


def clean_branch(value: str) -> str:
    """A branch is its name or its 3-digit code."""
    return clean_text(value, what="branch", max_length=60)


def mask_number(number: str) -> str:
    return "****" + number[-4:]


def mask_name(name: str) -> str:
    return name[0] + "***" if name else "***"


@dataclass(frozen=True, repr=False)
class BankAccount:
    """Where a withdrawal is paid. Its repr is masked, so it never reaches a log in clear."""

    bank_name: str
    branch: str
    account_type: AccountType
    account_number: str
    holder_name: str
    method: ClassVar[WithdrawalMethod] = WithdrawalMethod.JAPANESE_BANK

    @classmethod
    def parse(
        cls, *, bank_name: str, branch: str, account_type: str, account_number: str, holder_name: str
    ) -> BankAccount:
        return cls(
            bank_name=clean_text(bank_name, what="bank name", max_length=60),
            branch=clean_branch(branch),
            account_type=AccountType(account_type),
            account_number=clean_account_number(account_number),
            holder_name=clean_text(holder_name, what="account holder name", max_length=100),
        )

    def masked(self) -> dict[str, str]:
        return {
            "method": self.method.value,
            "bank_name": self.bank_name,
            "branch": self.branch,
            "account_type": self.account_type.value,
            "account_number": mask_number(self.account_number),
            "holder_name": mask_name(self.holder_name),
        }

    def sealed_fields(self) -> dict[str, str]:
        return {
            "bank_name": self.bank_name,
            "branch": self.branch,
            "account_type": self.account_type.value,
            "account_number": self.account_number,
            "holder_name": self.holder_name,
        }

    def __repr__(self) -> str:
        return f"BankAccount({self.masked()})"

    __str__ = __repr__


def mask_email(email: str) -> str:
    local, _, domain_part = email.partition("@")
    return f"{mask_name(local)}@{domain_part}"


def clean_iban(value: str) -> tuple[str, str | None]:
    """An IBAN as typed (spaces, lower case) → its compact form and the BIC its bank code implies, if known.

    schwifty checks the country's length and format (the BBAN structure of the
    SWIFT IBAN registry) and the ISO 7064 mod-97 check digits.
    """
    try:
        iban = IBAN(unicodedata.normalize("NFKC", value))
    except SchwiftyException as exc:
        raise ValueError(f"not a valid IBAN: {exc}") from exc
    implied = iban.bic
    return iban.compact, str(implied) if implied is not None else None


def clean_bic(value: str) -> str:
    """A BIC (SWIFT code), 8 or 11 characters, checked for structure and a known country (schwifty)."""
    try:
        bic = BIC(unicodedata.normalize("NFKC", value).strip().upper())
    except SchwiftyException as exc:
        raise ValueError(f"not a valid BIC/SWIFT code: {exc}") from exc
    return str(bic)


def bic_matches_iban(bic: str, iban: str) -> bool:
    """Whether the BIC's country is the IBAN's: money for a German IBAN does not go through a French bank code."""
    return bic[4:6] == iban[:2]


@dataclass(frozen=True, repr=False)
class IbanAccount:
    """A bank account abroad: IBAN and the bank's BIC (SWIFT code), for an international transfer."""

    iban: str
    bic: str
    holder_name: str
    method: ClassVar[WithdrawalMethod] = WithdrawalMethod.IBAN

    @classmethod
    def parse(cls, *, iban: str, bic: str | None, holder_name: str) -> IbanAccount:
        compact, implied = clean_iban(iban)
        chosen = clean_bic(bic) if bic else implied
        if chosen is None:
            raise ValueError("the BIC (SWIFT code) of this IBAN's bank is needed")
        if not bic_matches_iban(chosen, compact):
            raise ValueError(f"the BIC {chosen} is of another country than the IBAN ({compact[:2]})")
        return cls(
            iban=compact, bic=chosen, holder_name=clean_text(holder_name, what="account holder name", max_length=100)
        )

    def masked(self) -> dict[str, str]:
        return {
            "method": self.method.value,
            "iban": f"{self.iban[:2]}**{'*' * 4}{self.iban[-4:]}",
            "bic": self.bic,
            "country": self.iban[:2],
            "holder_name": mask_name(self.holder_name),
        }

    def sealed_fields(self) -> dict[str, str]:
        return {"iban": self.iban, "bic": self.bic, "holder_name": self.holder_name}

    def __repr__(self) -> str:
        return f"IbanAccount({self.masked()})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class PayPalAccount:
    """A PayPal account, by the e-mail address it is registered with (validated by ``email-validator``)."""

    email: str
    method: ClassVar[WithdrawalMethod] = WithdrawalMethod.PAYPAL

    def masked(self) -> dict[str, str]:
        return {"method": self.method.value, "email": mask_email(self.email)}

    def sealed_fields(self) -> dict[str, str]:
        return {"email": self.email}

    def __repr__(self) -> str:
        return f"PayPalAccount({self.masked()})"

    __str__ = __repr__


Destination = BankAccount | IbanAccount | PayPalAccount
"""Where a withdrawal is paid out; each kind masks itself and seals its clear fields."""


# --- charges and refunds (commands from the order workflow) -------------------------------------


class TransferKind(StrEnum):
    """Why money moved, in the agency's words; shown in the deposit's history."""

    BANK_PAY_IN = "bank_pay_in"
    PAYPAL_PAY_IN = "paypal_pay_in"
    CHARGE = "charge"
    REFUND = "refund"
    WITHDRAWAL_HOLD = "withdrawal_hold"
    WITHDRAWAL_PAID = "withdrawal_paid"
    WITHDRAWAL_RELEASED = "withdrawal_released"
