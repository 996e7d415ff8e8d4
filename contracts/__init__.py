"""Daiko's event contracts: the one description of everything on Kafka that producers and consumers share.

Depends only on pydantic, so the plumbing (``daiko``), the services and the
workflows may all import it and it imports none of them. Contents:

- :mod:`contracts.ids`: the id types and limits every service uses, and ``Yen``;
- :mod:`contracts.keys`: ``ChargeKey``/``RefundKey``, the deposit's idempotency keys as typed values;
- :mod:`contracts.orders`, :mod:`contracts.deposits`, :mod:`contracts.messaging`: one model per event or
  command type, with its ``type`` and schema ``version``;
- :mod:`contracts.topics`: the four topics (key, producer, consumers, types) and strict parsing;
- :mod:`contracts.publish`: ``python -m contracts.publish`` writes ``docs/events/`` (JSON Schema, AsyncAPI 3,
  the catalogue) from the models.
"""

from contracts.base import Contract
from contracts.keys import ChargeKey, RefundKey
from contracts.topics import TOPICS, ContractViolation, Topic, source_of, topic

__all__ = ["TOPICS", "ChargeKey", "Contract", "ContractViolation", "RefundKey", "Topic", "source_of", "topic"]
