"""The broker refuses forged traffic: no unauthenticated client, and each principal only on its own topics.

Against the stack's real Kafka (SASL/SCRAM + StandardAuthorizer), through the
same clients the services build. Nothing here writes to a live topic: every
attempted write is one the ACLs must refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from pydantic import SecretStr

from contracts.topics import DEPOSITS_COMMANDS, DEPOSITS_EVENTS, TOPICS
from daiko.acls import AclAdmin, Grant, Operation, Pattern, ResourceType, group_prefix, service_grants, sync_acls
from daiko.kafka import KafkaConnection, client_options, committed_consumer, idempotent_producer
from daiko.settings import KafkaLogin
from services.deposits.settings import DepositsSettings
from services.messaging.settings import MessagingSettings
from services.orders.events import DEPOSIT_BRIDGE
from tests.conftest import StackSettings, kafka_as

FORGED_CHARGE = b'{"type":"deposit.charge_requested","data":{"amount":1}}'


async def _write(kafka: KafkaConnection, topic: str) -> None:
    producer = idempotent_producer(kafka, request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, FORGED_CHARGE, key=b"cust-forged")
    finally:
        await producer.stop()


async def test_an_unauthenticated_client_cannot_even_connect(stack: StackSettings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaError):
        await producer.start()
        await producer.send_and_wait(DEPOSITS_COMMANDS, FORGED_CHARGE)
    await producer.stop()


async def test_a_wrong_password_is_refused(stack: StackSettings) -> None:
    orders = kafka_as(stack, "orders")
    impostor = KafkaConnection(
        bootstrap=orders.bootstrap,
        login=KafkaLogin(orders.login.username, SecretStr("not-the-password")),
        security_protocol=orders.security_protocol,
        sasl_mechanism=orders.sasl_mechanism,
    )
    with pytest.raises(KafkaError):
        await _write(impostor, DEPOSITS_COMMANDS)


@pytest.mark.parametrize("topic", [DEPOSITS_COMMANDS, DEPOSITS_EVENTS])
async def test_messaging_cannot_write_the_deposit_topics(stack: StackSettings, topic: str) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(kafka_as(stack, "messaging"), topic)


async def test_deposits_cannot_write_its_own_commands(stack: StackSettings) -> None:
    """Only orders asks for charges: deposits (or whoever holds its password) cannot charge by itself."""
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(kafka_as(stack, "deposits"), DEPOSITS_COMMANDS)


async def test_orders_cannot_read_the_deposit_commands(stack: StackSettings) -> None:
    consumer = AIOKafkaConsumer(**client_options(kafka_as(stack, "orders")), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(DEPOSITS_COMMANDS, 0)])
        with pytest.raises(TopicAuthorizationFailedError):
            await consumer.seek_to_beginning(TopicPartition(DEPOSITS_COMMANDS, 0))
            await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()


async def test_a_service_may_not_join_another_services_group(stack: StackSettings) -> None:
    """Joining deposits' group would steal its partitions: commands nobody answers."""
    consumer = committed_consumer(kafka_as(stack, "orders"), DepositsSettings().deposits_commands_group)
    consumer.subscribe([DEPOSITS_EVENTS])
    with pytest.raises(GroupAuthorizationFailedError):
        await consumer.start()
        await consumer.getmany(timeout_ms=5000)
    await consumer.stop()


async def test_the_broker_holds_exactly_the_acls_the_contracts_imply(stack: StackSettings) -> None:
    principals = {name: kafka_as(stack, name).login.principal for name in ("orders", "deposits", "messaging")}
    admin = AclAdmin(**client_options(kafka_as(stack)))
    await admin.start()
    try:
        held = set().union(*[await admin.describe_acls(p) for p in principals.values()])
    finally:
        await admin.close()
    assert held == set(service_grants(principals))


def test_each_topic_is_written_by_its_producer_and_read_by_its_consumers_only() -> None:
    """And by its producer where it reads its own events back for its live stream (never the commands)."""
    principals = {"orders": "User:o", "deposits": "User:d", "messaging": "User:m"}
    grants = service_grants(principals)
    for topic in TOPICS:
        writers = {g.principal for g in grants if g.resource_name == topic.name and g.operation is Operation.WRITE}
        readers = {g.principal for g in grants if g.resource_name == topic.name and g.operation is Operation.READ}
        assert writers == {principals[topic.producer]}
        read_back = {principals[topic.producer]} if topic.read_back else set()
        assert readers == {principals[c] for c in topic.consumers} | read_back
    assert Grant("User:o", Operation.READ, ResourceType.GROUP, "orders-", Pattern.PREFIXED) in grants
    assert Grant("User:o", Operation.READ, ResourceType.TOPIC, DEPOSITS_COMMANDS) not in grants
    assert {g.operation for g in grants} == {Operation.READ, Operation.WRITE}  # nothing on the cluster


def test_every_consumer_group_carries_its_services_prefix() -> None:
    """A group outside the prefix would be refused by the broker: the service could not consume at all."""
    assert DEPOSIT_BRIDGE.startswith(group_prefix("orders"))
    assert DepositsSettings().deposits_commands_group.startswith(group_prefix("deposits"))
    assert MessagingSettings().order_events_group.startswith(group_prefix("messaging"))


def test_a_principal_the_contracts_name_cannot_be_missing() -> None:
    with pytest.raises(KeyError):
        service_grants({"orders": "User:o", "deposits": "User:d"})


async def test_sync_removes_a_grant_the_contracts_no_longer_imply(
    stack: StackSettings, new_topic: Callable[..., Awaitable[str]]
) -> None:
    """A producer dropped from the contracts must stop being able to write: sync deletes what is not wanted."""
    topic = await new_topic("acl-sync", partitions=1)
    principal = f"User:retired-{topic.rsplit('.', 1)[1]}"
    stale = Grant(principal, Operation.WRITE, ResourceType.TOPIC, topic)
    kept = Grant(principal, Operation.READ, ResourceType.TOPIC, topic)
    admin = AclAdmin(**client_options(kafka_as(stack)))
    await admin.start()
    try:
        assert await sync_acls(admin, [stale, kept]) == ([kept, stale], [])
        await _until_held(admin, principal, {stale, kept})
        assert await sync_acls(admin, [kept]) == ([], [stale])
        await _until_held(admin, principal, {kept})
        await admin.delete_acl(kept)
    finally:
        await admin.close()


async def _until_held(admin: AclAdmin, principal: str, expected: set[Grant]) -> None:
    """The broker applies an ACL change once the controller's record reaches it: poll until it shows."""
    for _ in range(200):
        held = await admin.describe_acls(principal)
        if held == expected:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{principal} holds {sorted(map(str, held))}, not {sorted(map(str, expected))}")
