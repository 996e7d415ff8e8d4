"""The ledger in PostgreSQL: transfers posted under row locks, balances, history and the audit.

Concurrency: every transfer locks both its accounts (``SELECT … FOR UPDATE``,
in account-id order so two transfers never deadlock), then checks its
idempotency key, then applies :func:`services.deposits.ledger.domain.apply` to the
locked sums and writes the transfer and the new sums in the caller's
transaction. Two charges on one deposit therefore run one after the other, and
the second sees the first's result: the deposit can never go below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.deposits.db import Account, TransferRow
from services.deposits.domain import TransferKind
from services.deposits.ledger.domain import (
    AGENCY_ACCOUNTS,
    GUARDED_KINDS,
    AccountKind,
    Balances,
    IdempotencyConflict,
    PendingNotFound,
    Phase,
    SameAccount,
    Transfer,
    apply,
    check_amount,
    deposit_account,
    resolution,
    revenue_account,
)


@dataclass(frozen=True)
class AccountRef:
    """An account to open on first use."""

    code: str
    kind: AccountKind
    customer_id: str | None = None
    order_id: str | None = None

    @classmethod
    def deposit(cls, customer_id: str) -> AccountRef:
        return cls(deposit_account(customer_id), AccountKind.CUSTOMER_DEPOSIT, customer_id=customer_id)

    @classmethod
    def revenue(cls, order_id: str, customer_id: str) -> AccountRef:
        """An order's revenue remembers its customer: a refund can only go back to that deposit."""
        return cls(revenue_account(order_id), AccountKind.ORDER_REVENUE, customer_id=customer_id, order_id=order_id)

    @classmethod
    def agency(cls, code: str) -> AccountRef:
        return cls(code, AGENCY_ACCOUNTS[code])


@dataclass(frozen=True)
class Movement:
    """One transfer to post. Exactly one side is the customer's deposit."""

    key: str
    kind: TransferKind
    customer_id: str
    debit: AccountRef
    credit: AccountRef
    amount: int
    phase: Phase = Phase.POSTED
    pending_key: str | None = None
    order_id: str | None = None
    billing_seq: int | None = None
    revision: int | None = None
    reference: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Deposit:
    customer_id: str
    balance: int
    held: int

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass(frozen=True)
class StoredTransfer:
    """A transfer as stored: immutable, so a plain value rather than a live ORM row."""

    id: int
    idempotency_key: str
    phase: Phase
    debit_account_id: int
    credit_account_id: int
    amount: int
    pending_id: int | None
    customer_id: str
    balance_after: int
    held_after: int
    created_at: datetime


_TRANSFER_COLUMNS = (
    TransferRow.id,
    TransferRow.idempotency_key,
    TransferRow.phase,
    TransferRow.debit_account_id,
    TransferRow.credit_account_id,
    TransferRow.amount,
    TransferRow.pending_id,
    TransferRow.customer_id,
    TransferRow.balance_after,
    TransferRow.held_after,
    TransferRow.created_at,
)


@dataclass(frozen=True)
class Posted:
    transfer: StoredTransfer
    replayed: bool  # the key was seen before: this is the original transfer, nothing changed

    @property
    def deposit(self) -> Deposit:
        """The deposit right after this transfer (for a replay: as the original left it)."""
        t = self.transfer
        return Deposit(t.customer_id, t.balance_after, t.held_after)


@dataclass(frozen=True)
class LockedAccount:
    id: int
    code: str
    kind: str
    customer_id: str | None
    balances: Balances


def balances_of(account: Account) -> Balances:
    return Balances(
        account.debits_posted,
        account.credits_posted,
        account.debits_pending,
        account.credits_pending,
        guarded=account.debits_must_not_exceed_credits,
    )


_ACCOUNT_COLUMNS = (
    Account.id,
    Account.code,
    Account.kind,
    Account.customer_id,
    Account.debits_posted,
    Account.credits_posted,
    Account.debits_pending,
    Account.credits_pending,
    Account.debits_must_not_exceed_credits,
)

# One round trip writes both accounts' new sums.
_STORE_SUMS = text(
    "UPDATE accounts SET debits_posted = v.dp, credits_posted = v.cp, debits_pending = v.dq, credits_pending = v.cq "
    "FROM (VALUES (CAST(:a1 AS bigint), CAST(:dp1 AS bigint), CAST(:cp1 AS bigint), CAST(:dq1 AS bigint), "
    "CAST(:cq1 AS bigint)), (:a2, :dp2, :cp2, :dq2, :cq2)) AS v(id, dp, cp, dq, cq) WHERE accounts.id = v.id"
)


async def lock_accounts(session: AsyncSession, refs: Sequence[AccountRef]) -> dict[str, LockedAccount]:
    """Open the accounts if new, then lock them in id order for the rest of the transaction."""
    new = sorted({r.code: r for r in refs if r.code not in AGENCY_ACCOUNTS}.values(), key=lambda r: r.code)
    if new:
        await session.execute(
            insert(Account)
            .values(
                [
                    {
                        "code": r.code,
                        "kind": r.kind.value,
                        "customer_id": r.customer_id,
                        "order_id": r.order_id,
                        "debits_must_not_exceed_credits": r.kind in GUARDED_KINDS,
                    }
                    for r in new
                ]
            )
            .on_conflict_do_nothing(index_elements=[Account.code])
        )
    codes = sorted({r.code for r in refs})
    rows = (
        await session.execute(
            select(*_ACCOUNT_COLUMNS).where(Account.code.in_(codes)).order_by(Account.id).with_for_update()
        )
    ).all()
    found = {
        r.code: LockedAccount(
            r.id,
            r.code,
            r.kind,
            r.customer_id,
            Balances(
                r.debits_posted,
                r.credits_posted,
                r.debits_pending,
                r.credits_pending,
                guarded=r.debits_must_not_exceed_credits,
            ),
        )
        for r in rows
    }
    missing = set(codes) - set(found)
    if missing:  # agency accounts are opened by the migration; this is a broken database
        raise RuntimeError(f"ledger accounts missing: {sorted(missing)}")
    return found


async def find_transfer(session: AsyncSession, key: str) -> StoredTransfer | None:
    row = (await session.execute(select(*_TRANSFER_COLUMNS).where(TransferRow.idempotency_key == key))).first()
    if row is None:
        return None
    return StoredTransfer(**{**row._asdict(), "phase": Phase(row.phase)})


async def post(session: AsyncSession, m: Movement) -> Posted:
    """Post one transfer exactly once per key, or raise a :class:`~services.deposits.ledger.domain.LedgerError`.

    The caller's transaction holds the account locks until it commits, so its
    outbox event and any status change commit with the transfer or not at all.
    """
    check_amount(m.amount)
    if m.debit.code == m.credit.code:
        raise SameAccount("a transfer needs two different accounts")
    accounts = await lock_accounts(session, [m.debit, m.credit])
    debit, credit = accounts[m.debit.code], accounts[m.credit.code]

    pending: StoredTransfer | None = None
    if m.pending_key is not None:
        pending = await find_transfer(session, m.pending_key)
        if pending is None:
            raise PendingNotFound(f"no hold {m.pending_key}")
    requested = Transfer(m.key, m.debit.code, m.credit.code, m.amount, m.phase, m.pending_key)

    existing = await find_transfer(session, m.key)
    if existing is not None:
        if existing.pending_id is None:
            existing_pending_key = None
        elif pending is not None and existing.pending_id == pending.id:
            existing_pending_key = m.pending_key
        else:
            existing_pending_key = f"#{existing.pending_id}"
        if not _as_transfer(existing, accounts, existing_pending_key).same_request(requested):
            raise IdempotencyConflict(f"idempotency key {m.key} was already used for a different transfer")
        return Posted(existing, replayed=True)

    if pending is not None:
        already = await session.scalar(select(TransferRow.id).where(TransferRow.pending_id == pending.id))
        hold = _as_transfer(pending, accounts, None)
        requested = resolution(hold, key=m.key, phase=m.phase, already_resolved=already is not None)

    new_debit, new_credit = apply(requested.phase, requested.amount, debit.balances, credit.balances)
    pending_id = pending.id if pending is not None else None
    customer = new_debit if debit.kind == AccountKind.CUSTOMER_DEPOSIT else new_credit
    values = {
        "idempotency_key": m.key,
        "phase": requested.phase.value,
        "kind": m.kind.value,
        "debit_account_id": debit.id,
        "credit_account_id": credit.id,
        "amount": requested.amount,
        "pending_id": pending_id,
        "customer_id": m.customer_id,
        "balance_after": customer.balance,
        "held_after": customer.held,
        "order_id": m.order_id,
        "billing_seq": m.billing_seq,
        "revision": m.revision,
        "reference": m.reference,
        "note": m.note,
    }
    stored = (
        await session.execute(insert(TransferRow).values(**values).returning(TransferRow.id, TransferRow.created_at))
    ).one()
    await session.execute(
        _STORE_SUMS,
        {
            "a1": debit.id,
            "dp1": new_debit.debits_posted,
            "cp1": new_debit.credits_posted,
            "dq1": new_debit.debits_pending,
            "cq1": new_debit.credits_pending,
            "a2": credit.id,
            "dp2": new_credit.debits_posted,
            "cp2": new_credit.credits_posted,
            "dq2": new_credit.debits_pending,
            "cq2": new_credit.credits_pending,
        },
    )
    transfer = StoredTransfer(
        id=stored.id,
        idempotency_key=m.key,
        phase=requested.phase,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=requested.amount,
        pending_id=pending_id,
        customer_id=m.customer_id,
        balance_after=customer.balance,
        held_after=customer.held,
        created_at=stored.created_at,
    )
    return Posted(transfer, replayed=False)


def _as_transfer(row: StoredTransfer, accounts: dict[str, LockedAccount], pending_key: str | None) -> Transfer:
    by_id = {a.id: a.code for a in accounts.values()}
    return Transfer(
        row.idempotency_key,
        by_id.get(row.debit_account_id, f"#{row.debit_account_id}"),
        by_id.get(row.credit_account_id, f"#{row.credit_account_id}"),
        row.amount,
        row.phase,
        pending_key,
    )


async def deposit_of(session: AsyncSession, customer_id: str) -> Deposit:
    """The deposit as the database has it now.

    Read as columns, not as an ORM object: the sums are written by a plain UPDATE
    (:data:`_STORE_SUMS`), so an ``Account`` already in the session's identity map (an
    earlier charge of the same batch transaction) would answer with its stale sums.
    """
    row = (await session.execute(select(*_ACCOUNT_COLUMNS).where(Account.code == deposit_account(customer_id)))).first()
    if row is None:
        return Deposit(customer_id, 0, 0)
    b = Balances(
        row.debits_posted,
        row.credits_posted,
        row.debits_pending,
        row.credits_pending,
        guarded=row.debits_must_not_exceed_credits,
    )
    return Deposit(customer_id, b.balance, b.held)
