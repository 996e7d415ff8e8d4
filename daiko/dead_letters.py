"""The dead letters: Kafka records a consumer could not apply, kept whole with the reason for staff.

Writing a dead letter must not be able to fail because of what the message
holds, or the consumer would have nowhere to put a poison message and would
retry it for ever. So the record's bytes go into ``bytea`` columns untouched,
and every text column is written through :func:`safe_text` (NUL and unpaired
surrogates escaped, length bounded with a visible marker) into ``text``
columns. Staff list them and ask for replays with ``daiko dead-letters``
(:mod:`daiko.cli`); the consumer that parked a row re-runs it
(:meth:`daiko.consumer.IdempotentConsumer.replay_requested`), so a replay
takes exactly the path, and the exactly-once guarantee, of a first delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

MAX_ERROR = 10_000
MAX_LABEL = 200
"""Event ids and types are shown, not used, in a dead letter: the whole message is in ``payload``."""


def safe_text(value: str, limit: int) -> str:
    """``value`` as PostgreSQL ``text`` always accepts it: no NUL, valid UTF-8, at most ``limit`` (+ marker)."""
    cleaned = value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    if len(cleaned) <= limit:
        return cleaned
    return f"{cleaned[:limit]}…[{len(cleaned) - limit} more characters]"


def optional_safe_text(value: str | None, limit: int = MAX_LABEL) -> str | None:
    return None if value is None else safe_text(value, limit)


class DeadLetterMixin:
    """Messages a consumer could not apply, kept whole with the reason, one row per Kafka record.

    ``replay_requested_at`` is set by staff (``daiko dead-letters replay``) and cleared by the
    consumer once it has re-run the message; ``resolved_at`` says the replay applied it.
    """

    __tablename__ = "dead_letters"

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[UniqueConstraint, Index]:
        return (
            UniqueConstraint("consumer", "topic", "partition", "offset"),
            # Each consumer polls for replay requests: a partial index keeps that poll free.
            Index(
                "ix_dead_letters_replay_requested",
                "consumer",
                "id",
                postgresql_where=text("replay_requested_at IS NOT NULL"),
            ),
        )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    event_id: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    replay_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replay_requested_by: Mapped[str | None] = mapped_column(Text)
    replays: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter as staff see it (``daiko dead-letters list``)."""

    id: int
    created_at: datetime
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    error: str
    attempts: int
    replays: int
    status: str
    size: int

    @staticmethod
    def status_of(requested: datetime | None, resolved: datetime | None, replays: int) -> str:
        if resolved is not None:
            return "replayed"
        if requested is not None:
            return "replay-requested"
        return "failed-again" if replays else "parked"


async def list_dead_letters(
    session: AsyncSession,
    model: type[DeadLetterMixin],
    *,
    consumer: str | None = None,
    ids: Sequence[int] = (),
    include_resolved: bool = False,
    limit: int = 100,
) -> list[DeadLetterView]:
    m = model
    query = select(
        m.id,
        m.created_at,
        m.consumer,
        m.topic,
        m.partition,
        m.offset,
        m.event_id,
        m.event_type,
        m.error,
        m.attempts,
        m.replays,
        m.replay_requested_at,
        m.resolved_at,
        func.octet_length(m.payload).label("size"),
    ).order_by(m.id.desc())
    if consumer is not None:
        query = query.where(m.consumer == consumer)
    if ids:
        query = query.where(m.id.in_(list(ids)))
    if not include_resolved:
        query = query.where(m.resolved_at.is_(None))
    rows = (await session.execute(query.limit(limit))).all()
    return [
        DeadLetterView(
            id=row.id,
            created_at=row.created_at,
            consumer=row.consumer,
            topic=row.topic,
            partition=row.partition,
            offset=row.offset,
            event_id=row.event_id,
            event_type=row.event_type,
            error=row.error,
            attempts=row.attempts,
            replays=row.replays,
            status=DeadLetterView.status_of(row.replay_requested_at, row.resolved_at, row.replays),
            size=row.size,
        )
        for row in rows
    ]


async def request_replay(
    session: AsyncSession, model: type[DeadLetterMixin], ids: Sequence[int], *, requested_by: str
) -> list[int]:
    """Marks unresolved dead letters for their consumer to re-run; returns the ids it marked."""
    marked = await session.execute(
        update(model)
        .where(model.id.in_(list(ids)), model.resolved_at.is_(None))
        .values(replay_requested_at=func.now(), replay_requested_by=safe_text(requested_by, MAX_LABEL))
        .returning(model.id)
    )
    return sorted(marked.scalars())


Reapply = Callable[[AsyncSession, bytes, str], Awaitable[str | None]]
"""Re-runs a stored message (payload, topic) in the given transaction; why it failed, or ``None`` if applied."""


async def replay_next(
    sessions: async_sessionmaker[AsyncSession], model: type[DeadLetterMixin], consumer: str, reapply: Reapply
) -> tuple[int, str | None] | None:
    """Takes one of ``consumer``'s replay requests and re-runs it; ``None`` when none is waiting.

    The row is locked (other instances of the service skip it) and marked in the transaction the
    message is re-applied in, so "replayed" commits exactly with its effect. Returns the row's id
    and the new reason, ``None`` as reason when it was applied. An outage raised by ``reapply``
    rolls everything back and leaves the request for the next poll.
    """
    m = model
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                select(m.id, m.topic, m.payload)
                .where(m.consumer == consumer, m.replay_requested_at.is_not(None))
                .order_by(m.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        error = await reapply(session, row.payload, row.topic)
        done: dict[str, object] = {
            "replay_requested_at": None,
            "replays": m.replays + 1,
            "last_replayed_at": func.now(),
        }
        if error is None:
            done["resolved_at"] = func.now()
        else:
            done["error"] = error = safe_text(error, MAX_ERROR)
        await session.execute(update(m).where(m.id == row.id).values(**done))
    return row.id, error
