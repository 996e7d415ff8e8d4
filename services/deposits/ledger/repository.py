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
    LedgerError,
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


# Any number of accounts' new sums in one round trip, one statement text (arrays, not a VALUES list per size).
_STORE_MANY_SUMS = text(
    "UPDATE accounts SET debits_posted = v.dp, credits_posted = v.cp, debits_pending = v.dq, credits_pending = v.cq "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:dp AS bigint[]), CAST(:cp AS bigint[]), CAST(:dq AS bigint[]), "
    "CAST(:cq AS bigint[])) AS v(id, dp, cp, dq, cq) WHERE accounts.id = v.id"
)


_MANY_TRANSFER_COLUMNS = {
    "idempotency_key": "text",
    "phase": "text",
    "kind": "text",
    "debit_account_id": "bigint",
    "credit_account_id": "bigint",
    "amount": "bigint",
    "pending_id": "bigint",
    "customer_id": "text",
    "balance_after": "bigint",
    "held_after": "bigint",
    "order_id": "text",
    "billing_seq": "integer",
    "revision": "integer",
    "reference": "text",
    "note": "text",
}
# A batch's new transfers in one statement of one text: a column per array, matched back by their unique keys.
_INSERT_MANY_TRANSFERS = text(
    f"INSERT INTO transfers ({', '.join(_MANY_TRANSFER_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{column} AS {sql}[])" for column, sql in _MANY_TRANSFER_COLUMNS.items())
    + ") RETURNING idempotency_key, id, created_at"
)


async def lock_accounts(session: AsyncSession, refs: Sequence[AccountRef]) -> dict[str, LockedAccount]:
    """Open the accounts if new, then lock them in id order for the rest of the transaction."""
    new = sorted({r.code: r for r in refs if r.code not in AGENCY_ACCOUNTS}.values(), key=lambda r: r.code)
    if new:  # executemany form: one cached statement whatever the number of accounts
        await session.execute(
            insert(Account).on_conflict_do_nothing(index_elements=[Account.code]),
            [
                {
                    "code": r.code,
                    "kind": r.kind.value,
                    "customer_id": r.customer_id,
                    "order_id": r.order_id,
                    "debits_must_not_exceed_credits": r.kind in GUARDED_KINDS,
                }
                for r in new
            ],
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


@dataclass(frozen=True)
class Refused:
    """A movement of :func:`post_many` the ledger refused, and the deposit as the movements before it left it."""

    error: LedgerError
    deposit: Deposit


async def post_many(session: AsyncSession, movements: Sequence[Movement]) -> list[Posted | Refused]:
    """Post several transfers, in order, as :func:`post` would one after another, in a few statements.

    For a consumer's batch in one transaction: every account of the batch is opened and
    locked at once, in id order (the order :func:`post` locks in, so a batch and a single
    transfer never deadlock), the keys are looked up at once, and each movement is decided on
    what the ones before it left (the same :func:`~services.deposits.ledger.domain.apply`
    under the same locks, so a deposit still never goes below zero). The new transfers and
    the accounts' new sums are then written in one statement each. A refused movement gets a
    :class:`Refused` in its place and changes nothing. The accounts' rows hold their old sums
    until the end, so a caller reads the deposit from the answers, never from the table.
    Holds and their resolutions (``pending_key``) go through :func:`post`.
    """
    if any(m.pending_key is not None for m in movements):
        raise ValueError("post_many does not resolve holds; use post")
    if not movements:
        return []
    accounts = await lock_accounts(session, [ref for m in movements for ref in (m.debit, m.credit)])
    keys = sorted({m.key for m in movements})
    rows = (await session.execute(select(*_TRANSFER_COLUMNS).where(TransferRow.idempotency_key.in_(keys)))).all()
    known: dict[str, StoredTransfer | dict[str, object]] = {
        row.idempotency_key: StoredTransfer(**{**row._asdict(), "phase": Phase(row.phase)}) for row in rows
    }
    sums = {a.id: a.balances for a in accounts.values()}
    decided: list[str | Refused] = []  # the key whose transfer answers the movement, or its refusal
    new: list[dict[str, object]] = []
    for m in movements:
        debit, credit = accounts[m.debit.code], accounts[m.credit.code]
        try:
            check_amount(m.amount)
            if m.debit.code == m.credit.code:
                raise SameAccount("a transfer needs two different accounts")
            requested = Transfer(m.key, m.debit.code, m.credit.code, m.amount, m.phase, None)
            existing = known.get(m.key)
            if existing is not None:
                earlier = _stored_or_pending(existing)
                pending_key = None if earlier.pending_id is None else f"#{earlier.pending_id}"
                if not _as_transfer(earlier, accounts, pending_key).same_request(requested):
                    raise IdempotencyConflict(f"idempotency key {m.key} was already used for a different transfer")
                decided.append(m.key)
                continue
            new_debit, new_credit = apply(m.phase, m.amount, sums[debit.id], sums[credit.id])
        except LedgerError as refused:
            side = debit if debit.kind == AccountKind.CUSTOMER_DEPOSIT else credit
            now = sums[side.id]
            decided.append(Refused(refused, Deposit(m.customer_id, now.balance, now.held)))
            continue
        sums[debit.id], sums[credit.id] = new_debit, new_credit
        customer = new_debit if debit.kind == AccountKind.CUSTOMER_DEPOSIT else new_credit
        values: dict[str, object] = {
            "idempotency_key": m.key,
            "phase": m.phase.value,
            "kind": m.kind.value,
            "debit_account_id": debit.id,
            "credit_account_id": credit.id,
            "amount": m.amount,
            "pending_id": None,
            "customer_id": m.customer_id,
            "balance_after": customer.balance,
            "held_after": customer.held,
            "order_id": m.order_id,
            "billing_seq": m.billing_seq,
            "revision": m.revision,
            "reference": m.reference,
            "note": m.note,
        }
        new.append(values)
        known[m.key] = values
        decided.append(m.key)
    fresh: set[str] = set()
    if new:
        stored = await session.execute(
            _INSERT_MANY_TRANSFERS, {column: [values[column] for values in new] for column in _MANY_TRANSFER_COLUMNS}
        )
        by_key = {row.idempotency_key: row for row in stored.all()}
        for values in new:
            row = by_key[str(values["idempotency_key"])]
            known[row.idempotency_key] = _stored(values, row.id, row.created_at)
            fresh.add(row.idempotency_key)
        await _store_sums(session, {a.id: sums[a.id] for a in accounts.values() if sums[a.id] != a.balances})
    answers: list[Posted | Refused] = []
    first_use: set[str] = set()
    for outcome in decided:
        if isinstance(outcome, Refused):
            answers.append(outcome)
            continue
        transfer = known[outcome]
        assert isinstance(transfer, StoredTransfer)
        replayed = outcome not in fresh or outcome in first_use  # a second use of a key posted in this batch
        first_use.add(outcome)
        answers.append(Posted(transfer, replayed=replayed))
    return answers


def _stored(values: dict[str, object], transfer_id: int, created_at: datetime) -> StoredTransfer:
    return StoredTransfer(
        id=transfer_id,
        idempotency_key=str(values["idempotency_key"]),
        phase=Phase(str(values["phase"])),
        debit_account_id=int(str(values["debit_account_id"])),
        credit_account_id=int(str(values["credit_account_id"])),
        amount=int(str(values["amount"])),
        pending_id=None,
        customer_id=str(values["customer_id"]),
        balance_after=int(str(values["balance_after"])),
        held_after=int(str(values["held_after"])),
        created_at=created_at,
    )


def _stored_or_pending(found: StoredTransfer | dict[str, object]) -> StoredTransfer:
    """A transfer of the batch not inserted yet, as the stored one it will be (for the replay check)."""
    if isinstance(found, StoredTransfer):
        return found
    return _stored(found, -1, datetime.min)


async def _store_sums(session: AsyncSession, changed: dict[int, Balances]) -> None:
    """Every changed account's new sums in one UPDATE."""
    if not changed:
        return
    ids = sorted(changed)
    await session.execute(
        _STORE_MANY_SUMS,
        {
            "ids": ids,
            "dp": [changed[i].debits_posted for i in ids],
            "cp": [changed[i].credits_posted for i in ids],
            "dq": [changed[i].debits_pending for i in ids],
            "cq": [changed[i].credits_pending for i in ids],
        },
    )
