"""Rate limits: 429 with ``Retry-After`` per customer and per client IP, and on failed authentication.

The counting is the ``limits`` library's (moving windows, in this process's
memory by default, or a shared store such as Redis with
``DAIKO_RATE_LIMIT_STORAGE``, so every replica counts together). What is
limited, and how much, is configuration (docs/operations.md):

* the operations that create or pay (applying for an order, paying a billing,
  reporting a pay-in, a PayPal order, a withdrawal, a message): per customer
  (``DAIKO_RATE_LIMIT_CUSTOMER``) and per client IP (``DAIKO_RATE_LIMIT_IP``);
* failed authentication, per client IP (``DAIKO_RATE_LIMIT_AUTH_FAILURES``):
  a client guessing tokens gets 429 instead of 401 once over the limit.

The limits sit in this plumbing, not in each route, so the three services
limit alike; the routes only declare that they create (``daiko.auth.CreatingDep``).
"""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from daiko.problems import Problem
from daiko.settings import DaikoSettings


def too_many_requests(retry_after: int, what: str) -> Problem:
    seconds = str(max(1, retry_after))
    return Problem(
        429,
        "Too many requests",
        f"{what}; retry after {seconds} s",
        code="rate-limited",
        headers={"Retry-After": seconds},
        retry_after_seconds=int(seconds),
    )


class RateLimits:
    """The process's limiter over one store; built once per settings object."""

    def __init__(self, settings: DaikoSettings) -> None:
        self.enabled = settings.rate_limit_enabled
        storage = storage_from_string(settings.rate_limit_storage)
        if not isinstance(storage, Storage):  # a blocking store would stall the event loop on every request
            raise ValueError(
                f"DAIKO_RATE_LIMIT_STORAGE must be an async+ storage URI, not {settings.rate_limit_storage}"
            )
        self._limiter = MovingWindowRateLimiter(storage)
        self.per_customer: RateLimitItem = parse(settings.rate_limit_customer)
        self.per_ip: RateLimitItem = parse(settings.rate_limit_ip)
        self.auth_failures: RateLimitItem = parse(settings.rate_limit_auth_failures)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """Count one request; None when within the limit, else the seconds until the window lets one in."""
        if not self.enabled or await self._limiter.hit(item, *identifiers):
            return None
        stats = await self._limiter.get_window_stats(item, *identifiers)
        wait: int = math.ceil(stats.reset_time - time.time())
        return wait


def rate_limits(request: Request) -> RateLimits:
    """The one limiter of the app (``app.state.rate_limits``), so every route counts in the same windows."""
    limits: RateLimits = request.app.state.rate_limits
    return limits


def client_ip(request: Request) -> str:
    """The peer's address; behind a proxy, uvicorn's ``--forwarded-allow-ips`` makes it the client's."""
    return request.client.host if request.client else "unknown"


async def count_auth_failure(request: Request) -> None:
    """Raise the 429 when this IP failed authentication too often; the caller answers 401 otherwise."""
    limits = rate_limits(request)
    wait = await limits.hit(limits.auth_failures, "auth-failure", client_ip(request))
    if wait is not None:
        raise too_many_requests(wait, "too many failed authentications from this address")


async def count_creation(request: Request, customer_id: str) -> None:
    """Count one creating or paying request of ``customer_id``; 429 past the IP's or the customer's limit."""
    limits = rate_limits(request)
    wait = await limits.hit(limits.per_ip, "ip", client_ip(request))
    if wait is not None:
        raise too_many_requests(wait, "too many requests from this address")
    wait = await limits.hit(limits.per_customer, "customer", customer_id)
    if wait is not None:
        raise too_many_requests(wait, "too many operations by this customer")
