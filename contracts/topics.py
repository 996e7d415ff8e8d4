"""The four Kafka topics, each described once: name, key, producer, consumers and the types it carries.

``source`` of every envelope is ``daiko/<producing service>``. A consumer reads
an envelope's data with :meth:`Topic.parse`: an unknown type or data that breaks
its model raises :class:`ContractViolation`, which the consumers turn into a
dead letter with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contracts.base import Contract
from contracts.deposits import DEPOSIT_COMMANDS, DEPOSIT_EVENTS
from contracts.messaging import MESSAGING_EVENTS
from contracts.orders import ORDER_EVENTS

ORDERS_EVENTS = "daiko.orders.events.v1"
DEPOSITS_COMMANDS = "daiko.deposits.commands.v1"
DEPOSITS_EVENTS = "daiko.deposits.events.v1"
MESSAGING_EVENTS_TOPIC = "daiko.messaging.events.v1"


def source_of(service: str) -> str:
    """The envelope ``source`` (and CloudEvents ``ce_source``) of everything a service produces."""
    return f"daiko/{service}"


class ContractViolation(ValueError):
    """An envelope its topic's contract does not allow: an unknown type, or data its model refuses."""


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    """What the Kafka key (and the envelope's ``subject``) is: per-key order is what the topic guarantees."""
    producer: str
    consumers: tuple[str, ...]
    """Daiko services reading it; other systems may subscribe to any topic too."""
    summary: str
    messages: tuple[type[Contract], ...]
    read_back: bool = False
    """The producer reads it too, without a consumer group: its live stream to the portal (``daiko/live.py``)."""
    _by_type: dict[str, type[Contract]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_type", {model.type: model for model in self.messages})

    @property
    def source(self) -> str:
        return source_of(self.producer)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._by_type)

    def model_of(self, event_type: str) -> type[Contract]:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise ContractViolation(f"{event_type!r} is not a type of {self.name}") from None

    def parse(self, event_type: str, data: Mapping[str, Any]) -> Contract:
        """The envelope's data as its model; :class:`ContractViolation` with the reason otherwise."""
        model = self.model_of(event_type)
        try:
            return model.from_data(data)
        except ValidationError as invalid:
            reasons = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'data'}: {error['msg']}"
                for error in invalid.errors()
            )
            raise ContractViolation(f"{event_type} v{model.version} refused: {reasons}") from invalid


TOPICS: tuple[Topic, ...] = (
    Topic(
        name=ORDERS_EVENTS,
        key="order_id",
        producer="orders",
        consumers=("messaging",),
        summary="What happened to an order, as its workflow decided it.",
        messages=ORDER_EVENTS,
        read_back=True,
    ),
    Topic(
        name=DEPOSITS_COMMANDS,
        key="customer_id",
        producer="orders",
        consumers=("deposits",),
        summary="An order's workflow asking the customer's deposit to charge a billing or refund.",
        messages=DEPOSIT_COMMANDS,
    ),
    Topic(
        name=DEPOSITS_EVENTS,
        key="customer_id",
        producer="deposits",
        consumers=("orders",),
        summary="Every movement of a customer's deposit: answers to orders, pay-ins, withdrawals.",
        messages=DEPOSIT_EVENTS,
        read_back=True,
    ),
    Topic(
        name=MESSAGING_EVENTS_TOPIC,
        key="order_id",
        producer="messaging",
        consumers=("orders",),
        summary="Messages posted in an order's message history and read receipts: the order-details view's "
        "copy of the thread (R1), and notification systems.",
        messages=MESSAGING_EVENTS,
        read_back=True,
    ),
)

_BY_NAME = {topic.name: topic for topic in TOPICS}


def topic(name: str) -> Topic:
    """A topic by its name; ``KeyError`` for a topic that is not ours."""
    return _BY_NAME[name]
