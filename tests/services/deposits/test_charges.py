"""R9 charges and refunds for orders over Kafka: posted once, answered once, never below zero.

Commands go to the real ``daiko.deposits.commands.v1`` topic exactly as the
order workflow sends them; effects are checked in the deposits database (the
ledger and the outbox) and, once, on the real events topic.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daiko.events import DEPOSITS_EVENTS, Envelope
from daiko.kafka import client_options
from services.deposits.db import DeadLetter
from tests.conftest import StackSettings, kafka_as
from tests.services.deposits.conftest import (
    Caller,
    Commands,
    Ledger,
    eventually,
    new_order_id,
    pay_in,
    to_bank,
)

pytestmark = pytest.mark.stack


def subset(data: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``data`` named in ``expected``, for a readable assertion diff."""
    assert {k: data.get(k) for k in expected} == expected
    return data


async def answers(ledger: Ledger, customer_id: str, count: int, *types: str) -> list[Envelope]:
    """Wait until the customer has ``count`` events of these types in the outbox."""

    async def probe() -> list[Envelope] | None:
        found = [e for e in await ledger.events(customer_id) if e.type in types]
        return found if len(found) >= count else None

    return await eventually(probe, what=f"{count} of {types} for {customer_id}")


async def test_r9_a_charge_within_the_available_balance_is_posted_and_answered(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 10000)
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 4000, billing_seq=1, revision=2))
    [charged] = await answers(ledger, customer.id, 1, "deposit.charged")
    assert charged.subject == customer.id
    assert subset(
        charged.data,
        {
            "order_id": order,
            "customer_id": customer.id,
            "billing_seq": 1,
            "revision": 2,
            "amount": 4000,
            "idempotency_key": f"charge:{order}:1:2",
            "balance": 6000,
            "held": 0,
            "available": 6000,
            "replayed": False,
        },
    )
    assert await ledger.deposit(customer.id) == (6000, 0, 6000)
    [_, charge] = await ledger.transfers(customer.id)
    assert (charge.kind, charge.order_id, charge.billing_seq, charge.revision) == ("charge", order, 1, 2)
    history = (await http.get("/v1/deposit/transactions", headers=customer.headers)).json()["items"]
    assert (history[0]["kind"], history[0]["balance_change"], history[0]["order_id"]) == ("charge", -4000, order)
    await ledger.assert_consistent(customer.id)


async def test_r9_a_charge_over_the_available_balance_is_rejected_with_the_shortfall(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 1000)
    held = await http.post(
        "/v1/deposit/withdrawals",
        json=to_bank(600),
        headers=customer.headers,
    )
    assert held.status_code == 201
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 500))
    [rejected] = await answers(ledger, customer.id, 1, "deposit.charged", "deposit.charge_rejected")
    assert rejected.type == "deposit.charge_rejected"
    assert subset(
        rejected.data,
        {
            "order_id": order,
            "billing_seq": 1,
            "revision": 1,
            "amount": 500,
            "idempotency_key": f"charge:{order}:1:1",
            "rejection": "insufficient-funds",
            "shortfall": 100,
            "available": 400,
            "balance": 1000,
        },
    )
    assert await ledger.deposit(customer.id) == (1000, 600, 400)


async def test_the_same_command_delivered_twice_charges_and_answers_once(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 10000)
    command = commands.charge(customer.id, new_order_id(), 3000)
    sentinel = commands.charge(customer.id, new_order_id(), 1)
    await commands.send(command, command, command, sentinel)  # same key: same partition, in this order
    found = await answers(ledger, customer.id, 2, "deposit.charged")
    assert [e.data["amount"] for e in found] == [3000, 1]
    assert await ledger.deposit(customer.id) == (6999, 0, 6999)


async def test_charges_sent_together_beyond_the_deposit_are_answered_in_order_with_the_balance_each_left(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    """One customer's charges share a partition, so they are often applied in one batch transaction.

    Each is decided on the balance the previous ones left, and each rejection reports that balance:
    the deposit never goes below zero and no answer carries a sum from before an earlier charge.
    """
    await pay_in(http, staff, customer, 1000)
    amounts = [400, 700, 500, 200]
    await commands.send(*(commands.charge(customer.id, new_order_id(), amount) for amount in amounts))
    found = await answers(ledger, customer.id, 4, "deposit.charged", "deposit.charge_rejected")
    assert [(e.type, e.data["amount"], e.data["available"]) for e in found] == [
        ("deposit.charged", 400, 600),
        ("deposit.charge_rejected", 700, 600),
        ("deposit.charged", 500, 100),
        ("deposit.charge_rejected", 200, 100),
    ]
    assert await ledger.deposit(customer.id) == (100, 0, 100)
    await ledger.assert_consistent(customer.id)


async def test_a_retried_command_with_the_same_key_charges_once_and_answers_with_the_original_result(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 10000)
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 3000), commands.charge(customer.id, order, 3000))
    first, retry = await answers(ledger, customer.id, 2, "deposit.charged")
    assert (first.data["replayed"], retry.data["replayed"]) == (False, True)
    assert first.data["transfer_id"] == retry.data["transfer_id"] and retry.data["balance"] == 7000
    assert await ledger.deposit(customer.id) == (7000, 0, 7000)
    assert len(await ledger.transfers(customer.id)) == 2


async def test_a_rejected_billing_is_charged_when_asked_again_after_a_pay_in(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 2000))
    await answers(ledger, customer.id, 1, "deposit.charge_rejected")
    await pay_in(http, staff, customer, 2500)
    await commands.send(commands.charge(customer.id, order, 2000))
    [charged] = await answers(ledger, customer.id, 1, "deposit.charged")
    assert charged.data["balance"] == 500


async def test_a_refund_returns_money_from_the_order_once_and_never_more_than_charged(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands
) -> None:
    await pay_in(http, staff, customer, 10000)
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 6000))
    await answers(ledger, customer.id, 1, "deposit.charged")
    refund = commands.refund(customer.id, order, 2500, n=1, reason="item unavailable")
    await commands.send(refund, refund, commands.refund(customer.id, order, 2500, n=1, reason="item unavailable"))
    await commands.send(commands.refund(customer.id, order, 4000, n=2, reason="dispute"))
    found = await answers(ledger, customer.id, 3, "deposit.refunded", "deposit.refund_rejected")
    assert [(e.type, e.data.get("replayed"), e.data["amount"]) for e in found] == [
        ("deposit.refunded", False, 2500),
        ("deposit.refunded", True, 2500),
        ("deposit.refund_rejected", None, 4000),
    ]
    assert subset(found[0].data, {"order_id": order, "idempotency_key": f"refund:{order}:1", "balance": 6500})
    assert found[2].data["rejection"] == "exceeds-amount-charged" and found[2].data["refundable"] == 3500
    assert await ledger.deposit(customer.id) == (6500, 0, 6500)
    await ledger.assert_consistent(customer.id)


async def test_a_refund_only_goes_back_to_the_customer_who_was_charged(
    http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    ledger: Ledger,
    commands: Commands,
    stack: StackSettings,
) -> None:
    from tests.services.deposits.conftest import new_customer

    await pay_in(http, staff, customer, 1000)
    order = new_order_id()
    await commands.send(commands.charge(customer.id, order, 1000))
    await answers(ledger, customer.id, 1, "deposit.charged")
    other = new_customer(stack)
    await commands.send(commands.refund(other.id, order, 1000))
    [rejected] = await answers(ledger, other.id, 1, "deposit.refund_rejected")
    assert rejected.data["rejection"] == "order-charged-to-another-customer"
    assert await ledger.deposit(other.id) == (0, 0, 0)


@pytest.mark.parametrize("amount", [0, -100, 12.5, "100", None], ids=repr)
async def test_an_invalid_charge_command_is_rejected_and_moves_nothing(
    http: httpx.AsyncClient, customer: Caller, staff: dict[str, str], ledger: Ledger, commands: Commands, amount: Any
) -> None:
    await pay_in(http, staff, customer, 1000)
    await commands.send(commands.charge(customer.id, new_order_id(), amount))
    [rejected] = await answers(ledger, customer.id, 1, "deposit.charge_rejected", "deposit.charged")
    assert rejected.type == "deposit.charge_rejected"
    assert rejected.data["rejection"] == "invalid-command" and "amount" in " ".join(rejected.data["errors"])
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)


async def test_answers_reach_the_events_topic_keyed_by_customer(
    stack: StackSettings,
    http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    commands: Commands,
    producer: AIOKafkaProducer,
) -> None:
    partitions = [TopicPartition(DEPOSITS_EVENTS, p) for p in await producer.partitions_for(DEPOSITS_EVENTS)]
    consumer = AIOKafkaConsumer(**client_options(kafka_as(stack)), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        await pay_in(http, staff, customer, 5000)
        order = new_order_id()
        await commands.send(commands.charge(customer.id, order, 1200))
        seen: list[tuple[bytes | None, Envelope]] = []

        async def probe() -> list[str] | None:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend((r.key, Envelope.from_bytes(r.value)) for r in records)
            mine = [e.type for key, e in seen if key == customer.id.encode() and e.subject == customer.id]
            return mine if "deposit.charged" in mine else None

        assert await eventually(probe, what="deposit.charged on the events topic") == [
            "deposit.credited",
            "deposit.charged",
        ]
    finally:
        await consumer.stop()


async def test_a_command_of_a_type_no_contract_names_is_dead_lettered_with_the_reason_and_moves_nothing(
    http: httpx.AsyncClient,
    customer: Caller,
    staff: dict[str, str],
    ledger: Ledger,
    commands: Commands,
    db_sessions: dict[str, async_sessionmaker[AsyncSession]],
) -> None:
    await pay_in(http, staff, customer, 1000)
    unknown = commands.charge(customer.id, new_order_id(), 500).model_copy(update={"type": "deposit.gift_requested"})
    await commands.send(unknown)

    async def parked() -> str | None:
        async with db_sessions["deposits"]() as session:
            return await session.scalar(select(DeadLetter.error).where(DeadLetter.event_id == unknown.id))

    error = await eventually(parked, what="the unknown command dead-lettered")
    assert "'deposit.gift_requested' is not a type of daiko.deposits.commands.v1" in error
    assert await ledger.deposit(customer.id) == (1000, 0, 1000)
