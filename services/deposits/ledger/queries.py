"""Reading the ledger: a deposit's history with its running balance, and the auditor's checks.

The audit trusts nothing cached: it folds the stored transfers through
:func:`services.deposits.ledger.domain.fold` (the same rules that posted them) and
compares every account's sums and every recorded running balance with the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.deposits.db import Account, TransferRow
from services.deposits.ledger.domain import AccountKind, Balances, Phase, Totals, deposit_account, fold, totals
from services.deposits.ledger.repository import balances_of


@dataclass(frozen=True)
class HistoryEntry:
    transfer: TransferRow
    balance_change: int  # signed, from the customer's point of view
    held_change: int

    @property
    def available_after(self) -> int:
        return self.transfer.balance_after - self.transfer.held_after


async def history(
    session: AsyncSession, customer_id: str, *, before: int | None = None, limit: int = 50
) -> list[HistoryEntry]:
    """Newest first; page with ``before`` = the id of the last entry seen."""
    account_id = await session.scalar(select(Account.id).where(Account.code == deposit_account(customer_id)))
    if account_id is None:
        return []
    query = select(TransferRow).where(TransferRow.customer_id == customer_id)
    if before is not None:
        query = query.where(TransferRow.id < before)
    rows = (await session.scalars(query.order_by(TransferRow.id.desc()).limit(limit))).all()
    out = []
    for row in rows:
        phase = Phase(row.phase)
        if row.debit_account_id == account_id:
            moved = Balances().debited(phase, row.amount)
            out.append(HistoryEntry(row, -moved.debits_posted, moved.debits_pending))
        else:
            moved = Balances().credited(phase, row.amount)
            out.append(HistoryEntry(row, moved.credits_posted, 0))
    return out


async def ledger_totals(session: AsyncSession) -> Totals:
    """Σ debits and Σ credits over every account's cached sums, in one query: equal, always."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(Account.debits_posted), 0),
                func.coalesce(func.sum(Account.credits_posted), 0),
                func.coalesce(func.sum(Account.debits_pending), 0),
                func.coalesce(func.sum(Account.credits_pending), 0),
            )
        )
    ).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


@dataclass
class AuditReport:
    """What an auditor checks: every cached sum equals its transfers, and debits equal credits."""

    accounts: int = 0
    transfers: int = 0
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    mismatches: list[str] = field(default_factory=list)
    deposit: Balances | None = None
    """With a customer: their deposit as its transfers give it (credits, debits, held, balance)."""

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def audit(session: AsyncSession, *, customer_id: str | None = None, snapshot: bool = True) -> AuditReport:
    """Recompute balances from the transfers alone and compare.

    Run it first thing in its own transaction: it switches to REPEATABLE READ so
    the accounts and the transfers it reads are one consistent snapshot while
    money keeps moving (``snapshot=False`` skips that, inside a transaction
    that already ran statements).
    """
    if snapshot:
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    account_query = select(Account)
    transfer_query = select(
        TransferRow.id,
        TransferRow.debit_account_id,
        TransferRow.credit_account_id,
        TransferRow.phase,
        TransferRow.amount,
        TransferRow.customer_id,
        TransferRow.balance_after,
        TransferRow.held_after,
    ).order_by(TransferRow.id)
    if customer_id is not None:
        account_query = account_query.where(Account.code == deposit_account(customer_id))
        transfer_query = transfer_query.where(TransferRow.customer_id == customer_id)
    accounts = {a.id: a for a in (await session.scalars(account_query)).all()}
    rows = (await session.execute(transfer_query)).all()
    guarded = [a.id for a in accounts.values() if a.debits_must_not_exceed_credits]
    derived = fold(((r.debit_account_id, r.credit_account_id, Phase(r.phase), r.amount) for r in rows), guarded)

    report = AuditReport(accounts=len(accounts), transfers=len(rows))
    for account_id, account in accounts.items():
        cached, truth = (
            balances_of(account),
            derived.get(account_id, Balances(guarded=account.debits_must_not_exceed_credits)),
        )
        if cached != truth:
            report.mismatches.append(f"{account.code}: cached {cached} but transfers give {truth}")
        if truth.guarded and truth.available < 0:
            report.mismatches.append(f"{account.code}: below zero ({truth.available})")
    # Each transfer's recorded running balance must equal the fold up to it.
    deposits = {a.id: a for a in accounts.values() if a.kind == AccountKind.CUSTOMER_DEPOSIT}
    running: dict[int, Balances] = {}
    for r in rows:
        for account_id in (r.debit_account_id, r.credit_account_id):
            if account_id in deposits:
                b = running.get(account_id, Balances())
                phase = Phase(r.phase)
                b = b.debited(phase, r.amount) if account_id == r.debit_account_id else b.credited(phase, r.amount)
                running[account_id] = b
                if (b.balance, b.held) != (r.balance_after, r.held_after):
                    report.mismatches.append(
                        f"transfer {r.id}: recorded balance {r.balance_after}/held {r.held_after}, "
                        f"transfers give {b.balance}/{b.held}"
                    )
    if customer_id is None:
        t = totals(balances_of(a) for a in accounts.values())
    else:
        # The customer's transfers on both of their sides (the deposit and each counterpart): each debit
        # has its credit, so these sums are equal too; the deposit's own sums are the customer's totals.
        t = totals(derived.values())
        deposit_id = next(iter(deposits), None)
        report.deposit = derived.get(deposit_id, Balances()) if deposit_id is not None else Balances()
    report.debits_posted, report.credits_posted = t.debits_posted, t.credits_posted
    report.debits_pending, report.credits_pending = t.debits_pending, t.credits_pending
    if not t.balanced:
        report.mismatches.append(f"debits and credits differ: {t}")
    return report
