"""Pure rules of the message history: the 90-day window (R3), what an order event tells us, photo checks.

Nothing here does I/O, so every rule is tested with plain values
(tests/services/messaging/test_domain.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from contracts import orders as events
from contracts.ids import ID_MAX_LENGTH
from contracts.orders import OrderEvent

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time: a fixed offset is exact

# Statuses after which the order is over; R3 counts the window from the moment it got there.
CLOSED_STATUSES = frozenset({"completed", "canceled", "cancelled", "abandoned"})


class AuthorRole(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


class MessageState(StrEnum):
    POSTED = "posted"
    # Written by a customer before any event announced the order: visible only to its poster and staff.
    PENDING = "pending"
    # A pending message the order's first event showed to be the wrong customer's or outside R3's window.
    REJECTED = "rejected"


# ---------------------------------------------------------------- R3: the 90-day window


@dataclass(frozen=True)
class WindowDecision:
    open: bool
    reason: str = ""


def message_window(status: str | None, closed_at: datetime | None, now: datetime, window: timedelta) -> WindowDecision:
    """R3: a customer may write on ongoing orders and on orders completed or canceled less than ``window`` ago.

    "Less than" is strict: at exactly ``window`` after closing the window is shut.
    A closed order whose closing time is unknown stays open: refusing a customer
    on a guess would be worse than one late message.
    """
    if not is_closed(status) or closed_at is None:
        return WindowDecision(open=True)
    if now - closed_at < window:
        return WindowDecision(open=True)
    days = window.days if window.seconds == 0 else round(window.total_seconds() / 86400, 2)
    word = "canceled" if status in {"canceled", "cancelled"} else status
    return WindowDecision(
        open=False,
        reason=(
            f"This order was {word} on {when(closed_at)}. Messages can be sent only "
            f"on ongoing orders and on orders completed or canceled less than {days} days ago."
        ),
    )


def when(moment: datetime | None) -> str | None:
    """A moment as every notice writes it: Japan time, the month in letters, 24-hour clock, the zone named.

    "03 Dec 2026 09:00 JST" cannot be misread as 12 March by a customer abroad,
    and JST is the clock the agency's deadlines are kept by.
    """
    return None if moment is None else moment.astimezone(JST).strftime("%d %b %Y %H:%M JST")


def is_closed(status: str | None) -> bool:
    return status is not None and status.lower() in CLOSED_STATUSES


# ---------------------------------------------------------------- what messaging knows of an order


@dataclass(frozen=True)
class OrderFacts:
    """The order as messaging learns it from ``daiko.orders.events.v1`` (never from the orders service)."""

    order_id: str
    customer_id: str | None
    status: str | None
    service_type: str | None
    closed_at: datetime | None
    event_time: datetime


@dataclass(frozen=True)
class OrderState:
    customer_id: str | None
    status: str | None
    service_type: str | None
    closed_at: datetime | None
    last_event_at: datetime | None


ID_MAX = ID_MAX_LENGTH  # column width of order and customer ids: the one limit of every id (contracts.ids)


def without_nul(text: str) -> str:
    """PostgreSQL text and jsonb cannot hold NUL characters; nobody means to send one."""
    return text.replace("\x00", "")


def json_safe(value: Any) -> Any:
    """Notice data made storable as jsonb (NULs removed at any depth)."""
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, dict):
        return {without_nul(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


PURCHASE, FORWARD = "purchase", "forward"  # the agency's two services (``workflows.models.ServiceType``)


def service_shown_by(event: OrderEvent) -> str | None:
    """The service (purchase or forward) an event shows, or ``None`` when it could be either.

    ``order.applied`` names it (``service_type``). Events raised before it did
    are still on the topic, and for those the service is inferred, as some
    events can only happen to one service: a purchase billing always has item lines and a
    forward one never has (the customer bought the items, R12); only purchase
    orders are ``purchasing`` and only forward orders ``awaiting_arrival``; only
    the agency buys items. Messaging keeps what it learns on the thread, so a
    later event that could be either (a cancellation) is still worded for its
    service.
    """
    if isinstance(event, events.OrderApplied):
        return event.service_type
    if isinstance(event, events.OrderEstimated):
        if event.contact == "handling_availability":
            return FORWARD
        return PURCHASE if any(line.kind == "item" for line in event.billing.lines) else FORWARD
    if isinstance(event, events.OrderItemUpdated) and event.item_status == "purchased":
        return PURCHASE
    if event.status == "purchasing":
        return PURCHASE
    if event.status == "awaiting_arrival":
        return FORWARD
    return None


def order_facts(event: OrderEvent, time: datetime) -> OrderFacts:
    """What one order event says about its order (read with its contract, so every field is usable).

    Order events do not say when an order closed: a closing event closes it at
    the event's time, which is when the workflow closed it. The service is
    named by ``order.applied`` or shown by a later event (:func:`service_shown_by`).
    """
    closed_at = time if is_closed(event.status) else None
    return OrderFacts(
        order_id=event.order_id,
        customer_id=event.customer_id,
        status=event.status,
        service_type=service_shown_by(event),
        closed_at=closed_at,
        event_time=time,
    )


def next_order_state(current: OrderState | None, facts: OrderFacts) -> OrderState:
    """Fold one event into what we know of the order.

    The owner never changes once known (a later event naming someone else does
    not hand the thread over). Status only moves forward in event time, so a
    late re-delivery of an older event cannot reopen a closed order.
    """
    if current is None:
        return OrderState(
            customer_id=facts.customer_id,
            status=facts.status,
            service_type=facts.service_type,
            closed_at=facts.closed_at,
            last_event_at=facts.event_time,
        )
    state = replace(
        current,
        customer_id=current.customer_id or facts.customer_id,
        service_type=current.service_type or facts.service_type,
    )
    if current.last_event_at is not None and facts.event_time < current.last_event_at:
        return state
    if facts.status is None:
        return replace(state, last_event_at=facts.event_time)
    return replace(
        state,
        status=facts.status,
        closed_at=facts.closed_at if is_closed(facts.status) else None,
        last_event_at=facts.event_time,
    )


# ---------------------------------------------------------------- message text and photos


class ImageKind(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"


EXTENSIONS = {ImageKind.JPEG: "jpg", ImageKind.PNG: "png", ImageKind.WEBP: "webp"}


def sniff_image(content: bytes) -> ImageKind | None:
    """The photo's real type from its first bytes; the file name and declared type are never trusted."""
    if content.startswith(b"\xff\xd8\xff"):
        return ImageKind.JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return ImageKind.PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP" and content[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return ImageKind.WEBP
    return None


class BodyProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too-long"


def check_body(body: str, max_chars: int) -> BodyProblem | None:
    if not without_nul(body).strip():
        return BodyProblem.EMPTY
    if len(body) > max_chars:
        return BodyProblem.TOO_LONG
    return None


def safe_filename(name: str | None, kind: ImageKind, index: int) -> str:
    """A download name that cannot break a header or a path: the customer's stem, our extension."""
    stem = (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c for c in stem if c.isalnum() or c in "-_ ").strip()[:80]
    return f"{cleaned or f'photo-{index + 1}'}.{EXTENSIONS[kind]}"
