"""The order-details read (R1, ``GET /v1/orders/{id}``): one statement, one round trip, bytes out.

The hottest path of the system: a customer's page polls it. It used to check
out a SQLAlchemy connection, read the stored view as text, parse it into the
API's model and serialize it again; per request that cost several times the
HTTP exchange itself. Here the work per request is what cannot be avoided:

* one prepared statement on a small asyncpg pool of its own (no ORM, no
  statement compilation, no BEGIN/ROLLBACK: asyncpg runs it in autocommit);
* PostgreSQL joins the view with the order's copy of its message thread
  (``services/orders/thread_copy.py``: the latest messages and the unread
  count for the reader's side) and renders the answer's JSON text itself;
* the text goes out as it is, without re-validation: the answer is the view
  the workflow stored (whatever fields it has), plus ``messages``.

The security checks stay where they were: the route takes the verified
principal (``daiko.auth``), and the statement selects the order by id *and*
customer for a customer (another customer's order is not found, a 404),
by id alone for staff (``/v1/staff/orders/{id}``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.engine import make_url

MESSAGES_SHOWN = 5
"""How many of the latest messages the view carries; the rest is one link away (``messages.href``)."""

_DETAILS = """
SELECT (o.view || jsonb_build_object('messages', jsonb_build_object(
            'latest', COALESCE(latest.items, '[]'::jsonb),
            'count', counts.total,
            'unread_count', counts.unread,
            'href', $3::text)))::text
FROM orders o
LEFT JOIN order_message_reads r ON r.order_id = o.order_id
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE CASE WHEN $4::boolean
                                       THEN m.author_role = 'customer' AND m.seq > COALESCE(r.staff_read_seq, 0)
                                       ELSE m.author_role <> 'customer' AND m.seq > COALESCE(r.customer_read_seq, 0)
                                  END) AS unread
    FROM order_messages m
    WHERE m.order_id = o.order_id
) counts
CROSS JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'message_id', l.message_id,
               'seq', l.seq,
               'author_role', l.author_role,
               'kind', l.kind,
               'notice_type', l.notice_type,
               'body', l.body,
               'attachment_count', l.attachment_count,
               'posted_at', to_char(l.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
           ORDER BY l.seq DESC NULLS LAST, l.posted_at DESC) AS items
    FROM (SELECT * FROM order_messages m
          WHERE m.order_id = o.order_id
          ORDER BY m.seq DESC NULLS LAST, m.posted_at DESC
          LIMIT $5) l
) latest
WHERE o.order_id = $1 AND ($2::text IS NULL OR o.customer_id = $2::text)
"""
"""The view with its ``messages`` section; ``$2`` the customer (NULL: staff), ``$4`` true for the staff's side."""


def thread_href(order_id: str, *, staff: bool) -> str:
    """Where the reader's whole thread is: the messaging service's API, through the same edge."""
    return f"/v1/staff/orders/{order_id}/messages" if staff else f"/v1/orders/{order_id}/messages"


def empty_thread(order_id: str, *, staff: bool) -> dict[str, object]:
    """The ``messages`` section of an order the copy has heard nothing about yet (just applied)."""
    return {"latest": [], "count": 0, "unread_count": 0, "href": thread_href(order_id, staff=staff)}


def with_thread(view_json: str, order_id: str, *, staff: bool) -> bytes:
    """A view read from the workflow (the moment before the read model has it) with an empty thread."""
    view = json.loads(view_json)
    view["messages"] = empty_thread(order_id, staff=staff)
    return json.dumps(view, separators=(",", ":")).encode()


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing, as the one statement run here changes no session state.

    asyncpg's default runs ``RESET ALL``, ``UNLISTEN *``, ... on every release: a second round trip per
    request. An open transaction is still rolled back by the pool itself, before this is called.
    """


@dataclass
class OrderDetails:
    """The asyncpg pool of the details read, opened on first use (in the serving loop) and closed at shutdown."""

    dsn: str
    pool_size: int
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    @classmethod
    def for_database(cls, sqlalchemy_url: str, *, pool_size: int) -> OrderDetails:
        """From the service's SQLAlchemy URL (``postgresql+asyncpg://...``): the same database and login."""
        url = make_url(sqlalchemy_url).set(drivername="postgresql")
        return cls(dsn=url.render_as_string(hide_password=False), pool_size=pool_size)

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.dsn, min_size=1, max_size=self.pool_size, reset=_nothing_to_reset
                    )
        return self._pool

    async def read(self, order_id: str, *, customer_id: str | None) -> bytes | None:
        """The answer's JSON, or None when there is no such row (for a customer: no such order of theirs).

        ``customer_id`` None reads as staff: any order, with the staff's unread count and thread link.
        """
        staff = customer_id is None
        # PostgreSQL down answers 503 like every route: daiko.db.database_unavailable knows asyncpg's errors.
        pool = await self._connections()
        async with pool.acquire() as connection:
            try:
                text: str | None = await connection.fetchval(
                    _DETAILS, order_id, customer_id, thread_href(order_id, staff=staff), staff, MESSAGES_SHOWN
                )
            except BaseException:
                # A statement cut short (the request cancelled, PostgreSQL gone) can leave the connection
                # mid-protocol, and the pool's reset does nothing here: never hand it out again.
                connection.terminate()
                raise
        return text.encode() if text is not None else None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
