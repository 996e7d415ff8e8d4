"""The ledger's rules without a database: accounts, immutable transfers and holds.

TigerBeetle's model, in integer yen: an account keeps four sums (debits and
credits, posted and pending); a transfer moves an amount from one account's
debit side to another's credit side. A hold is a *pending* transfer, later
*posted* (the money moves) or *voided* (the hold is released). An account that
holds money the agency owes someone (a customer's deposit, an order's revenue)
carries ``debits_must_not_exceed_credits``: no transfer may leave it negative,
counting what is held. Every transfer carries a client-chosen idempotency key;
the same key submitted again returns the original transfer and changes nothing.

The database layer (``services.deposits.ledger.repository``) enforces exactly these functions under row
locks, and the audit folds the stored transfers through :func:`fold` to check
the cached sums, so the rules exist once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from daiko.errors import DomainError

K = TypeVar("K", bound=Hashable)


class AccountKind(StrEnum):
    CUSTOMER_DEPOSIT = "customer_deposit"
    BANK_CLEARING = "bank_clearing"
    PAYPAL_CLEARING = "paypal_clearing"
    ORDER_REVENUE = "order_revenue"
    PAYOUTS = "payouts"


# Money the agency owes: these accounts may never go below zero.
GUARDED_KINDS = frozenset({AccountKind.CUSTOMER_DEPOSIT, AccountKind.ORDER_REVENUE})

BANK_ACCOUNT = "agency:bank"
PAYPAL_ACCOUNT = "agency:paypal"
PAYOUTS_ACCOUNT = "agency:payouts"
AGENCY_ACCOUNTS: dict[str, AccountKind] = {
    BANK_ACCOUNT: AccountKind.BANK_CLEARING,
    PAYPAL_ACCOUNT: AccountKind.PAYPAL_CLEARING,
    PAYOUTS_ACCOUNT: AccountKind.PAYOUTS,
}


def deposit_account(customer_id: str) -> str:
    return f"deposit:{customer_id}"


def revenue_account(order_id: str) -> str:
    """One revenue account per order, so a refund can never exceed what the order was charged."""
    return f"revenue:{order_id}"


class Phase(StrEnum):
    POSTED = "posted"  # moves money at once
    PENDING = "pending"  # a hold: reserves money on both sides
    POST_PENDING = "post_pending"  # completes a hold: the reserved money moves
    VOID_PENDING = "void_pending"  # releases a hold


RESOLUTIONS = frozenset({Phase.POST_PENDING, Phase.VOID_PENDING})


class LedgerError(DomainError):
    """The ledger refused a transfer; ``code`` names the rule."""

    code = "ledger-error"


class InvalidAmount(LedgerError):
    code = "invalid-amount"


class SameAccount(LedgerError):
    code = "same-account"


class InsufficientFunds(LedgerError):
    """The debit side would go below zero; ``shortfall`` is how much more it would need."""

    code = "insufficient-funds"

    def __init__(self, *, available: int, requested: int) -> None:
        self.available = available
        self.requested = requested
        self.shortfall = requested - available
        super().__init__(
            f"the available deposit is {available} yen, {self.shortfall} yen short of {requested} yen",
            available=available,
            requested=requested,
            shortfall=self.shortfall,
        )


class IdempotencyConflict(LedgerError):
    """The key was used before for a different transfer: a client bug, never silently merged."""

    code = "idempotency-key-conflict"


class PendingNotFound(LedgerError):
    code = "pending-transfer-not-found"


class PendingAlreadyResolved(LedgerError):
    code = "pending-transfer-already-resolved"


@dataclass(frozen=True)
class Balances:
    """The four sums of one account; a customer deposit is read from the credit side."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    guarded: bool = False  # debits_must_not_exceed_credits

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def held(self) -> int:
        return self.debits_pending

    @property
    def available(self) -> int:
        return self.balance - self.held

    def debited(self, phase: Phase, amount: int) -> Balances:
        return _moved(self, phase, amount, side="debits")

    def credited(self, phase: Phase, amount: int) -> Balances:
        return _moved(self, phase, amount, side="credits")


def _moved(b: Balances, phase: Phase, amount: int, *, side: str) -> Balances:
    posted, pending = f"{side}_posted", f"{side}_pending"
    p, q = getattr(b, posted), getattr(b, pending)
    if phase is Phase.POSTED:
        return replace(b, **{posted: p + amount})
    if phase is Phase.PENDING:
        return replace(b, **{pending: q + amount})
    if phase is Phase.POST_PENDING:
        return replace(b, **{posted: p + amount, pending: q - amount})
    return replace(b, **{pending: q - amount})


def check_amount(amount: object) -> int:
    """Positive integer yen: a bool, a float, a string or zero is refused, never rounded."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"amount must be an integer number of yen, got {type(amount).__name__}")
    if amount <= 0:
        raise InvalidAmount(f"amount must be positive, got {amount}")
    return amount


@dataclass(frozen=True)
class Transfer:
    """An immutable movement; ``pending_key`` names the hold a post or void resolves."""

    key: str
    debit: str
    credit: str
    amount: int
    phase: Phase = Phase.POSTED
    pending_key: str | None = None

    def same_request(self, other: Transfer) -> bool:
        return (self.debit, self.credit, self.amount, self.phase, self.pending_key) == (
            other.debit,
            other.credit,
            other.amount,
            other.phase,
            other.pending_key,
        )


def apply(phase: Phase, amount: int, debit: Balances, credit: Balances) -> tuple[Balances, Balances]:
    """The sums of both accounts after one transfer, or an error if a guarded account would go negative."""
    check_amount(amount)
    new_debit, new_credit = debit.debited(phase, amount), credit.credited(phase, amount)
    for before, after in ((debit, new_debit), (credit, new_credit)):
        if after.guarded and after.debits_posted + after.debits_pending > after.credits_posted:
            raise InsufficientFunds(available=max(before.available, 0), requested=amount)
    return new_debit, new_credit


def resolution(pending: Transfer, *, key: str, phase: Phase, already_resolved: bool) -> Transfer:
    """The post or void of a hold: same accounts, the full amount, and only once."""
    if phase not in RESOLUTIONS:
        raise LedgerError(f"{phase} does not resolve a hold")
    if pending.phase is not Phase.PENDING:
        raise PendingNotFound(f"transfer {pending.key} is not a hold")
    if already_resolved:
        raise PendingAlreadyResolved(f"hold {pending.key} was already posted or voided")
    return Transfer(key, pending.debit, pending.credit, pending.amount, phase, pending.key)


@dataclass(frozen=True)
class Submitted:
    transfer: Transfer
    replayed: bool  # True: the key was seen before and nothing changed


@dataclass
class Ledger:
    """The whole ledger in memory: the reference model the property tests drive."""

    accounts: dict[str, Balances] = field(default_factory=dict)
    transfers: list[Transfer] = field(default_factory=list)
    _by_key: dict[str, Transfer] = field(default_factory=dict)
    _resolved: set[str] = field(default_factory=set)

    def open(self, code: str, *, guarded: bool) -> None:
        self.accounts.setdefault(code, Balances(guarded=guarded))

    def submit(self, transfer: Transfer) -> Submitted:
        existing = self._by_key.get(transfer.key)
        if existing is not None:
            if not existing.same_request(transfer):
                raise IdempotencyConflict(f"key {transfer.key} was used for a different transfer")
            return Submitted(existing, replayed=True)
        check_amount(transfer.amount)
        if transfer.debit == transfer.credit:
            raise SameAccount("a transfer needs two different accounts")
        if transfer.phase in RESOLUTIONS:
            pending = self._by_key.get(transfer.pending_key or "")
            if pending is None:
                raise PendingNotFound(f"no hold {transfer.pending_key}")
            transfer = resolution(
                pending, key=transfer.key, phase=transfer.phase, already_resolved=pending.key in self._resolved
            )
        debit, credit = self.accounts[transfer.debit], self.accounts[transfer.credit]
        self.accounts[transfer.debit], self.accounts[transfer.credit] = apply(
            transfer.phase, transfer.amount, debit, credit
        )
        if transfer.pending_key:
            self._resolved.add(transfer.pending_key)
        self.transfers.append(transfer)
        self._by_key[transfer.key] = transfer
        return Submitted(transfer, replayed=False)


def fold(transfers: Iterable[tuple[K, K, Phase, int]], guarded: Iterable[K] = ()) -> dict[K, Balances]:
    """Recompute every account's sums from (debit, credit, phase, amount) alone: the audit's truth."""
    guarded_set = set(guarded)
    sums: dict[K, Balances] = {}
    for debit, credit, phase, amount in transfers:
        d = sums.get(debit, Balances(guarded=debit in guarded_set))
        c = sums.get(credit, Balances(guarded=credit in guarded_set))
        sums[debit], sums[credit] = d.debited(phase, amount), c.credited(phase, amount)
    return sums


@dataclass(frozen=True)
class Totals:
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending


def totals(accounts: Iterable[Balances]) -> Totals:
    """Σ debits and Σ credits over all accounts; double entry means they are always equal."""
    dp = cp = dq = cq = 0
    for b in accounts:
        dp, cp, dq, cq = dp + b.debits_posted, cp + b.credits_posted, dq + b.debits_pending, cq + b.credits_pending
    return Totals(dp, cp, dq, cq)
