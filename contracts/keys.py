"""The deposit's idempotency keys for an order's charges and refunds, as typed values.

The order workflow names each charge ``charge:<order>:<billing seq>:<revision>``
and each refund ``refund:<order>:<n>``; the deposit ledger consumes the key
once, so a retried command never moves money twice, and the orders bridge
reads the billing back from the key of an answer. Building and reading the
text in one place keeps the three in agreement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


class _KeyText(ABC):
    """Makes a key usable as a pydantic field: text on the wire, the typed value in Python."""

    PATTERN: ClassVar[str]

    @classmethod
    @abstractmethod
    def parse(cls, text: str) -> Self:
        """The key from its text; ``ValueError`` when the text is not such a key."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from_text = core_schema.no_info_after_validator_function(
            cls.parse, core_schema.str_schema(strict=True, pattern=cls.PATTERN, max_length=200)
        )
        return core_schema.json_or_python_schema(
            json_schema=from_text,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_text]),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _positive(text: str, what: str, key: str) -> int:
    if not text.isascii() or not text.isdigit() or text.startswith("0"):
        raise ValueError(f"{key!r}: the {what} must be a whole number from 1")
    return int(text)


@dataclass(frozen=True)
class ChargeKey(_KeyText):
    """The key of one charge: a billing of an order at one revision."""

    order_id: str
    billing_seq: int
    revision: int

    PATTERN: ClassVar[str] = r"^charge:[^\x00-\x1f\x7f]+:[1-9][0-9]*:[1-9][0-9]*$"

    def __str__(self) -> str:
        return f"charge:{self.order_id}:{self.billing_seq}:{self.revision}"

    @classmethod
    def parse(cls, text: str) -> ChargeKey:
        """The key from its text; ``ValueError`` when the text is not a charge key."""
        prefix, _, rest = text.partition(":")
        parts = rest.rsplit(":", 2)
        if prefix != "charge" or len(parts) != 3 or not parts[0]:
            raise ValueError(f"{text!r} is not a charge key charge:<order>:<billing seq>:<revision>")
        order_id, seq, revision = parts
        return cls(order_id, _positive(seq, "billing seq", text), _positive(revision, "revision", text))


@dataclass(frozen=True)
class RefundKey(_KeyText):
    """The key of an order's n-th refund."""

    order_id: str
    number: int

    PATTERN: ClassVar[str] = r"^refund:[^\x00-\x1f\x7f]+:[1-9][0-9]*$"

    def __str__(self) -> str:
        return f"refund:{self.order_id}:{self.number}"

    @classmethod
    def parse(cls, text: str) -> RefundKey:
        """The key from its text; ``ValueError`` when the text is not a refund key."""
        prefix, _, rest = text.partition(":")
        order_id, _, number = rest.rpartition(":")
        if prefix != "refund" or not order_id or not number:
            raise ValueError(f"{text!r} is not a refund key refund:<order>:<n>")
        return cls(order_id, _positive(number, "refund number", text))
