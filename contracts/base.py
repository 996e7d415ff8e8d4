"""What every event and command model shares: its type, its schema version, strictness, and its wire form."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """The ``data`` of one event or command type on one topic.

    ``type`` is the envelope's type; ``version`` is the schema version of
    ``data`` (a new required field or a changed meaning is a new version, an
    optional field added is not). Models are frozen (an event is a fact) and
    forbid fields they do not name, because every producer of these types is
    ours: a field we do not know is a bug to see, not to ignore.

    Optional fields are *absent* on the wire unless the producer set them, as
    the producers always did: :meth:`to_data` leaves out what was not given,
    and a model read from the wire writes back exactly what it read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    version: ClassVar[int] = 1
    summary: ClassVar[str] = ""
    """What the event means, in the agency's words (the catalogue's line)."""

    def to_data(self) -> dict[str, Any]:
        """The envelope's ``data``: JSON-ready, only the fields the producer set."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def from_data(cls, data: Any) -> Self:
        """Read an envelope's ``data``; raises ``pydantic.ValidationError`` when it breaks the contract."""
        return cls.model_validate(data)


class Part(BaseModel):
    """A nested object inside an event (a billing, a masked bank account): strict and frozen too."""

    model_config = ConfigDict(extra="forbid", frozen=True)
