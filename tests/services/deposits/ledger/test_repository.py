"""The ledger in PostgreSQL: one transfer per key, holds, immutability, and the database's own guards."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.deposits.db import Account
from services.deposits.domain import TransferKind
from services.deposits.ledger.domain import (
    BANK_ACCOUNT,
    PAYOUTS_ACCOUNT,
    IdempotencyConflict,
    InsufficientFunds,
    PendingAlreadyResolved,
    Phase,
    deposit_account,
)
from services.deposits.ledger.queries import audit
from services.deposits.ledger.repository import AccountRef, Movement, post
from tests.services.deposits.conftest import Ledger

pytestmark = pytest.mark.stack


def key(prefix: str) -> str:
    return f"test:{prefix}:{uuid.uuid4().hex}"


def pay_in(customer_id: str, amount: int, k: str | None = None) -> Movement:
    return Movement(
        key=k or key("pay-in"),
        kind=TransferKind.BANK_PAY_IN,
        customer_id=customer_id,
        debit=AccountRef.agency(BANK_ACCOUNT),
        credit=AccountRef.deposit(customer_id),
        amount=amount,
    )


def hold(customer_id: str, amount: int, k: str, phase: Phase = Phase.PENDING, pending: str | None = None) -> Movement:
    return Movement(
        key=k,
        kind=TransferKind.WITHDRAWAL_HOLD,
        customer_id=customer_id,
        debit=AccountRef.deposit(customer_id),
        credit=AccountRef.agency(PAYOUTS_ACCOUNT),
        amount=amount,
        phase=phase,
        pending_key=pending,
    )


@pytest.fixture
def sessions(db_sessions: dict[str, async_sessionmaker[AsyncSession]]) -> async_sessionmaker[AsyncSession]:
    return db_sessions["deposits"]


async def test_posting_the_same_key_twice_moves_money_once(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger, customer_id: str
) -> None:
    k = key("pay-in")
    async with sessions() as session, session.begin():
        first = await post(session, pay_in(customer_id, 700, k))
    async with sessions() as session, session.begin():
        again = await post(session, pay_in(customer_id, 700, k))
    assert not first.replayed and again.replayed
    assert again.transfer.id == first.transfer.id
    assert await ledger.deposit(customer_id) == (700, 0, 700)
    assert len(await ledger.transfers(customer_id)) == 1
    await ledger.assert_consistent(customer_id)


async def test_the_same_key_for_another_amount_is_refused(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger, customer_id: str
) -> None:
    k = key("pay-in")
    async with sessions() as session, session.begin():
        await post(session, pay_in(customer_id, 700, k))
    with pytest.raises(IdempotencyConflict):
        async with sessions() as session, session.begin():
            await post(session, pay_in(customer_id, 701, k))
    assert await ledger.deposit(customer_id) == (700, 0, 700)


async def test_a_hold_then_post_then_void_of_the_same_hold_is_refused(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger, customer_id: str
) -> None:
    h = key("hold")
    async with sessions() as session, session.begin():
        await post(session, pay_in(customer_id, 1000))
        await post(session, hold(customer_id, 400, h))
    assert await ledger.deposit(customer_id) == (1000, 400, 600)
    async with sessions() as session, session.begin():
        await post(session, hold(customer_id, 400, key("post"), Phase.POST_PENDING, h))
    assert await ledger.deposit(customer_id) == (600, 0, 600)
    with pytest.raises(PendingAlreadyResolved):
        async with sessions() as session, session.begin():
            await post(session, hold(customer_id, 400, key("void"), Phase.VOID_PENDING, h))
    await ledger.assert_consistent(customer_id)


async def test_a_hold_over_the_available_balance_is_refused(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger, customer_id: str
) -> None:
    async with sessions() as session, session.begin():
        await post(session, pay_in(customer_id, 1000))
        await post(session, hold(customer_id, 800, key("hold")))
    with pytest.raises(InsufficientFunds) as refused:
        async with sessions() as session, session.begin():
            await post(session, hold(customer_id, 300, key("hold")))
    assert refused.value.shortfall == 100
    assert await ledger.deposit(customer_id) == (1000, 800, 200)


async def test_transfers_cannot_be_edited_or_deleted(
    sessions: async_sessionmaker[AsyncSession], customer_id: str
) -> None:
    async with sessions() as session, session.begin():
        posted = await post(session, pay_in(customer_id, 100))
    for sql in ("UPDATE transfers SET amount = 1000000 WHERE id = :id", "DELETE FROM transfers WHERE id = :id"):
        with pytest.raises(DBAPIError, match="immutable"):
            async with sessions() as session, session.begin():
                await session.execute(text(sql), {"id": posted.transfer.id})


async def test_the_database_itself_refuses_a_deposit_below_zero(
    sessions: async_sessionmaker[AsyncSession], customer_id: str
) -> None:
    async with sessions() as session, session.begin():
        await post(session, pay_in(customer_id, 100))
    with pytest.raises(DBAPIError, match="debits_must_not_exceed_credits"):
        async with sessions() as session, session.begin():
            await session.execute(
                update(Account).where(Account.code == deposit_account(customer_id)).values(debits_posted=101)
            )


async def test_the_audit_notices_a_cached_balance_that_disagrees_with_the_transfers(
    sessions: async_sessionmaker[AsyncSession], customer_id: str
) -> None:
    async with sessions() as session, session.begin():
        await post(session, pay_in(customer_id, 500))
    async with sessions() as session, session.begin():
        assert (await audit(session, customer_id=customer_id)).ok
    async with sessions() as session:
        await session.begin()
        await session.execute(  # tampering, inside a transaction that is rolled back
            update(Account).where(Account.code == deposit_account(customer_id)).values(credits_posted=600)
        )
        report = await audit(session, customer_id=customer_id, snapshot=False)
        await session.rollback()
    assert not report.ok
    assert any("cached" in m for m in report.mismatches)
