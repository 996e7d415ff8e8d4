"""A batch of charges posted at once decides each as posting them one after another would (R9).

``post_many`` is what the commands consumer uses for a partition batch in one
transaction: the same charges, the same refusals, the same balances in each answer,
and the deposit never below zero. Each test posts one sequence both ways, for two
customers, on the real deposits database.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.deposits.domain import TransferKind
from services.deposits.ledger.domain import BANK_ACCOUNT, IdempotencyConflict, InsufficientFunds, LedgerError
from services.deposits.ledger.repository import AccountRef, Deposit, Movement, Posted, Refused, post, post_many
from tests.services.deposits.conftest import Ledger

pytestmark = pytest.mark.stack


def charge(customer_id: str, order: str, amount: int, k: str | None = None) -> Movement:
    return Movement(
        key=k or f"charge:{order}:1:1",
        kind=TransferKind.CHARGE,
        customer_id=customer_id,
        debit=AccountRef.deposit(customer_id),
        credit=AccountRef.revenue(order, customer_id),
        amount=amount,
        order_id=order,
        billing_seq=1,
        revision=1,
    )


def fund(customer_id: str, amount: int) -> Movement:
    return Movement(
        key=f"test:pay-in:{uuid.uuid4().hex}",
        kind=TransferKind.BANK_PAY_IN,
        customer_id=customer_id,
        debit=AccountRef.agency(BANK_ACCOUNT),
        credit=AccountRef.deposit(customer_id),
        amount=amount,
    )


def outcome(result: Posted | Refused | LedgerError) -> tuple[str, int, int, bool]:
    """What an answer says: posted or refused why, the deposit's balance and held after it, replayed."""
    if isinstance(result, Posted):
        d = result.deposit
        return "posted", d.balance, d.held, result.replayed
    if isinstance(result, Refused):
        return type(result.error).__name__, result.deposit.balance, result.deposit.held, False
    return type(result).__name__, -1, -1, False


async def one_by_one(
    sessions: async_sessionmaker[AsyncSession], customer_id: str, movements: list[Movement]
) -> list[tuple[str, int, int, bool]]:
    """As the consumer posted before batches: ``post`` per charge, a refusal reading the deposit then."""
    from services.deposits.ledger.repository import deposit_of

    results: list[tuple[str, int, int, bool]] = []
    async with sessions() as session, session.begin():
        for m in movements:
            try:
                results.append(outcome(await post(session, m)))
            except (InsufficientFunds, IdempotencyConflict) as exc:
                d: Deposit = await deposit_of(session, customer_id)
                results.append((type(exc).__name__, d.balance, d.held, False))
    return results


@pytest.fixture
def sessions(db_sessions: dict[str, async_sessionmaker[AsyncSession]]) -> async_sessionmaker[AsyncSession]:
    return db_sessions["deposits"]


async def _funded(sessions: async_sessionmaker[AsyncSession], amount: int) -> str:
    customer_id = f"cust-{uuid.uuid4().hex[:12]}"
    async with sessions() as session, session.begin():
        await post(session, fund(customer_id, amount))
    return customer_id


async def test_a_batch_beyond_the_deposit_is_decided_charge_by_charge_as_one_at_a_time(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger
) -> None:
    amounts = [400, 700, 500, 200, 100]
    singly, batched = await _funded(sessions, 1000), await _funded(sessions, 1000)
    orders = [f"P-{uuid.uuid4().hex[:10]}" for _ in amounts]

    expected = await one_by_one(sessions, singly, [charge(singly, o, a) for o, a in zip(orders, amounts, strict=True)])
    async with sessions() as session, session.begin():
        got = [
            outcome(r)
            for r in await post_many(
                session, [charge(batched, o + "b", a) for o, a in zip(orders, amounts, strict=True)]
            )
        ]

    assert (
        got
        == expected
        == [
            ("posted", 600, 0, False),
            ("InsufficientFunds", 600, 0, False),
            ("posted", 100, 0, False),
            ("InsufficientFunds", 100, 0, False),
            ("posted", 0, 0, False),
        ]
    )
    assert await ledger.deposit(batched) == await ledger.deposit(singly) == (0, 0, 0)
    await ledger.assert_consistent(batched)


async def test_a_key_used_twice_in_one_batch_posts_once_and_replays_and_another_amount_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger
) -> None:
    customer_id = await _funded(sessions, 1000)
    order = f"P-{uuid.uuid4().hex[:10]}"
    first = charge(customer_id, order, 300)
    async with sessions() as session, session.begin():
        results = await post_many(session, [first, first, charge(customer_id, order, 301, k=first.key)])

    assert [outcome(r) for r in results] == [
        ("posted", 700, 0, False),
        ("posted", 700, 0, True),
        ("IdempotencyConflict", 700, 0, False),
    ]
    posted, replayed = results[0], results[1]
    assert isinstance(posted, Posted) and isinstance(replayed, Posted)
    assert replayed.transfer.id == posted.transfer.id
    assert await ledger.deposit(customer_id) == (700, 0, 700)
    assert len(await ledger.transfers(customer_id)) == 2  # the pay-in and one charge
    await ledger.assert_consistent(customer_id)


async def test_a_batch_replays_a_key_posted_by_an_earlier_transaction(
    sessions: async_sessionmaker[AsyncSession], ledger: Ledger
) -> None:
    customer_id = await _funded(sessions, 1000)
    earlier = charge(customer_id, f"P-{uuid.uuid4().hex[:10]}", 250)
    async with sessions() as session, session.begin():
        original = await post(session, earlier)
    async with sessions() as session, session.begin():
        [again, later] = await post_many(session, [earlier, charge(customer_id, f"P-{uuid.uuid4().hex[:10]}", 50)])

    assert isinstance(again, Posted) and again.replayed and again.transfer.id == original.transfer.id
    assert outcome(later) == ("posted", 700, 0, False)
    assert await ledger.deposit(customer_id) == (700, 0, 700)
    await ledger.assert_consistent(customer_id)
