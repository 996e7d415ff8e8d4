"""The Kafka ACLs of the system, derived from the topic contracts so they cannot drift from them.

Each service authenticates as its own principal (``User:<its kafka username>``)
and may do exactly what ``contracts/topics.py`` says it does: ``WRITE`` the
topics it produces, ``READ`` the topics it consumes (and those it produces and
reads back for its live stream, ``Topic.read_back``), and ``READ`` its consumer
groups, whose names start with ``<service>-`` (``orders-deposit-bridge``,
``deposits-commands``, ``messaging-order-events``). Nothing else is granted:
the brokers run with ``allow.everyone.if.no.acl.found=false``, so any other
write (a forged charge command, a forged deposit answer) is refused with
``TOPIC_AUTHORIZATION_FAILED``. Idempotent producers need no ``IDEMPOTENT_WRITE``
(Kafka 3.0+, KIP-679: ``WRITE`` on a topic allows it).

aiokafka's admin client speaks the ACL requests of the protocol but has no
methods for them; :class:`AclAdmin` adds the three the setup needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from contracts.topics import TOPICS, Topic
from daiko.kafka import KafkaConnection, client_options
from daiko.registry import registered_services

ANY = 1
"""The wildcard of every enum in ACL filters (resource type, pattern type, operation, permission)."""
ALLOW = 3


class ResourceType(IntEnum):
    """Kafka's resource types (``org.apache.kafka.common.resource.ResourceType``)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class Operation(IntEnum):
    """Kafka's ACL operations (``org.apache.kafka.common.acl.AclOperation``); the services get READ and WRITE."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW binding: ``principal`` may ``operation`` the resource, from any host."""

    principal: str
    operation: Operation
    resource_type: ResourceType
    resource_name: str
    pattern: Pattern = Pattern.LITERAL

    def __str__(self) -> str:
        kind = "prefix " if self.pattern is Pattern.PREFIXED else ""
        return f"{self.principal} {self.operation.name} {self.resource_type.name.lower()} {kind}{self.resource_name}"


def group_prefix(service: str) -> str:
    """Every consumer group of ``service`` starts with this; its principal may read only those."""
    return f"{service}-"


def service_grants(principals: Mapping[str, str], topics: Iterable[Topic] = TOPICS) -> list[Grant]:
    """The ACLs of the services, from each topic's producer and consumers.

    ``principals`` maps a service name (as the contracts name producers and
    consumers) to its Kafka principal; a service the contracts name but that
    has no principal is an error, not a silently open or closed topic.
    """
    grants: set[Grant] = set()
    for topic in topics:
        grants.add(Grant(principals[topic.producer], Operation.WRITE, ResourceType.TOPIC, topic.name))
        if topic.read_back:  # the producer's live stream (daiko/live.py) reads its own topic, without a group
            grants.add(Grant(principals[topic.producer], Operation.READ, ResourceType.TOPIC, topic.name))
        for consumer in topic.consumers:
            reader = principals[consumer]
            grants.add(Grant(reader, Operation.READ, ResourceType.TOPIC, topic.name))
            grants.add(Grant(reader, Operation.READ, ResourceType.GROUP, group_prefix(consumer), Pattern.PREFIXED))
    return sorted(grants)


class AclAdmin(AIOKafkaAdminClient):
    """An admin client that can also read, create and delete ACLs (CreateAcls/DescribeAcls/DeleteAcls v1)."""

    async def describe_acls(self, principal: str) -> set[Grant]:
        """Every ALLOW binding of ``principal``, on any resource, from any host."""
        response = await self._send_request(DescribeAclsRequest(ANY, None, ANY, principal, None, ANY, ALLOW))  # type: ignore[arg-type]
        _raise_for(response.error_code, response.error_message)
        return {
            Grant(acl_principal, Operation(operation), ResourceType(resource_type), name, Pattern(pattern))
            for resource_type, name, pattern, acls in response.resources
            for acl_principal, _host, operation, _permission in acls
        }

    async def create_acl(self, grant: Grant) -> None:
        response = await self._send_request(
            CreateAclsRequest(
                grant.resource_type, grant.resource_name, grant.pattern, grant.principal, "*", grant.operation, ALLOW
            )
        )
        for error_code, error_message in response.creation_responses:
            _raise_for(error_code, error_message)

    async def delete_acl(self, grant: Grant) -> None:
        """Deletes the binding from whichever hosts it names (a hand-made one may name a host, not ``*``)."""
        response = await self._send_request(
            DeleteAclsRequest(
                grant.resource_type,
                grant.resource_name,
                grant.pattern,
                grant.principal,
                None,
                grant.operation,
                ALLOW,  # type: ignore[arg-type]
            )
        )
        for error_code, error_message, _matches in response.filter_responses:
            _raise_for(error_code, error_message)


def _raise_for(error_code: int, message: str | None) -> None:
    if error_code:
        raise for_code(error_code)(message or "")


async def sync_acls(admin: AclAdmin, wanted: Iterable[Grant]) -> tuple[list[Grant], list[Grant]]:
    """Make each named principal's ACLs exactly ``wanted``: create the missing, delete the rest.

    Deleting matters as much as creating: a topic a service stopped producing
    must stop accepting its writes. Returns (created, deleted).
    """
    wanted_set = set(wanted)
    existing: set[Grant] = set()
    for principal in sorted({grant.principal for grant in wanted_set}):
        existing |= await admin.describe_acls(principal)
    created = sorted(wanted_set - existing)
    deleted = sorted(existing - wanted_set)
    for grant in created:
        await admin.create_acl(grant)
    for grant in deleted:
        await admin.delete_acl(grant)
    return created, deleted


def registered_principals() -> dict[str, str]:
    """Each registered service's principal, read from its own settings (``DAIKO_<SERVICE>_KAFKA_USERNAME``)."""
    return {registration.name: registration.settings().kafka_login.principal for registration in registered_services()}


async def apply_service_acls(kafka: KafkaConnection, principals: Mapping[str, str]) -> tuple[list[Grant], list[Grant]]:
    """As the setup admin: the services' ACLs become exactly :func:`service_grants`. Idempotent."""
    admin = AclAdmin(**client_options(kafka))
    await admin.start()
    try:
        return await sync_acls(admin, service_grants(principals))
    finally:
        await admin.close()
